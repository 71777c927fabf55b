import { LlmscopeConfigError } from '../config/errors';
import { loadOptional } from '../exporters/optional';

/**
 * The logger llmscope writes to: a pino logger (`pino()`, `fastify.log`, `app.get(Logger)` from
 * nestjs-pino...) or anything with the same `info`/`warn`/`error` methods taking `(object, message)`.
 */
export interface LogSink {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Structured JSON logs (pino). */
export interface LoggingOptions {
  /** The app's pino logger (or any {@link LogSink}). Default: a new pino logger on stdout named `llmscope`. */
  logger?: LogSink;
  /** Level of the default logger. Default `LOG_LEVEL`, else `info`. */
  level?: string;
  /** One line per HTTP request. Default true. */
  requests?: boolean;
  /** One line per LLM call. Default true. */
  llmCalls?: boolean;
  /** Include (clipped, redacted) prompt and completion text in LLM lines. Default false. */
  captureContent?: boolean;
  /** Longest content or raw output string in a line, characters. Default 2000. */
  maxContentLength?: number;
}

export interface ResolvedLogging {
  logger: LogSink;
  requests: boolean;
  llmCalls: boolean;
  captureContent: boolean;
  maxContentLength: number;
}

const KEYS = ['logger', 'level', 'requests', 'llmCalls', 'captureContent', 'maxContentLength'];
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function fail(message: string): never {
  throw new LlmscopeConfigError(message);
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(`option \`logging.${name}\` must be true or false.`);
  return value;
}

/** Validates the `logging` option (`true`, `false` or an object). Off by default. */
export function resolveLogging(value: unknown, env: NodeJS.ProcessEnv, serviceName: string | undefined): ResolvedLogging | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('option `logging` must be true, false or an object such as { logger: pino() }.');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.includes(key)) fail(`unknown option \`logging.${key}\`. Known options: ${KEYS.join(', ')}.`);
  let logger = o.logger as LogSink | undefined;
  if (logger !== undefined && (logger === null || typeof logger.info !== 'function' || typeof logger.warn !== 'function' || typeof logger.error !== 'function')) {
    fail('option `logging.logger` must be a pino logger (or have info/warn/error methods taking (object, message)).');
  }
  const level = o.level ?? env.LOG_LEVEL ?? 'info';
  if (typeof level !== 'string' || !LEVELS.includes(level)) fail(`option \`logging.level\` must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(level)}).`);
  if (logger === undefined) {
    const pino = loadOptional<typeof import('pino')>('pino', 'logging');
    logger = pino.pino({ name: 'llmscope', level, base: serviceName === undefined ? undefined : { service: serviceName }, timestamp: pino.stdTimeFunctions.isoTime });
  }
  const max = o.maxContentLength ?? 2000;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) fail('option `logging.maxContentLength` must be a positive integer.');
  return {
    logger,
    requests: bool('requests', o.requests, true),
    llmCalls: bool('llmCalls', o.llmCalls, true),
    captureContent: bool('captureContent', o.captureContent, false),
    maxContentLength: max,
  };
}
