import { boolean, check, envVar, object, oneOf, positiveInt } from '../config/validate';
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

const KEYS = ['logger', 'level', 'requests', 'llmCalls', 'captureContent', 'maxContentLength'] as const;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function isLogSink(value: unknown): value is LogSink {
  const l = value as Partial<LogSink> | null;
  return l !== null && typeof l === 'object' && typeof l.info === 'function' && typeof l.warn === 'function' && typeof l.error === 'function';
}

/** Validates the `logging` option (`true`, `false` or an object). Off by default. */
export function resolveLogging(value: unknown, env: NodeJS.ProcessEnv, serviceName: string | undefined): ResolvedLogging | undefined {
  if (value === undefined || value === false) return undefined;
  const o = object('logging', value === true ? {} : value, KEYS, 'true, false or an object such as { logger: pino() }') ?? {};
  let logger = check('logging.logger', o.logger, isLogSink, 'a pino logger (or an object with info/warn/error methods taking (object, message))');
  const level = oneOf('logging.level', o.level ?? undefined, LEVELS) ?? oneOf(envVar('LOG_LEVEL'), env.LOG_LEVEL, LEVELS) ?? 'info';
  if (logger === undefined) {
    const pino = loadOptional<typeof import('pino')>('pino', 'logging');
    logger = pino.pino({ name: 'llmscope', level, base: serviceName === undefined ? undefined : { service: serviceName }, timestamp: pino.stdTimeFunctions.isoTime });
  }
  return {
    logger,
    requests: boolean('logging.requests', o.requests) ?? true,
    llmCalls: boolean('logging.llmCalls', o.llmCalls) ?? true,
    captureContent: boolean('logging.captureContent', o.captureContent) ?? false,
    maxContentLength: positiveInt('logging.maxContentLength', o.maxContentLength ?? undefined) ?? 2000,
  };
}
