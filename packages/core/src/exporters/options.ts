import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { configError, entry, envVar, firstSet, func, httpUrl, invalid, nonEmptyString, object, oneOf, positiveInt, record, section, string, type At } from '../config/validate';
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './queue';

/** OTLP/HTTP trace exporter (Jaeger, Tempo, Honeycomb, an OpenTelemetry Collector, ...). */
export interface OtlpExporterOptions {
  /** Full traces URL, e.g. `http://collector:4318/v1/traces`. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
  url?: string;
  /** Extra request headers (API keys). Default: `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`). */
  headers?: Record<string, string>;
  /**
   * Body encoding: `'http/protobuf'` (`application/x-protobuf`) or `'http/json'` (`application/json`).
   * Default: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else
   * `'http/protobuf'` (the OTLP specification's default). `'grpc'` is rejected at start-up.
   */
  protocol?: 'http/protobuf' | 'http/json';
}

/** The encodings of OTLP over HTTP llmscope sends. OTLP/gRPC is not one of them (see docs/exporters.md). */
type OtlpProtocol = NonNullable<OtlpExporterOptions['protocol']>;

/** Langfuse exporter, through `@langfuse/otel`'s `LangfuseSpanProcessor`. */
export interface LangfuseExporterOptions {
  /** Default `LANGFUSE_PUBLIC_KEY`. */
  publicKey?: string;
  /** Default `LANGFUSE_SECRET_KEY`. */
  secretKey?: string;
  /** Default `LANGFUSE_BASE_URL`, else `https://cloud.langfuse.com`. */
  baseUrl?: string;
  /** Langfuse environment tag. Default `LANGFUSE_TRACING_ENVIRONMENT`. */
  environment?: string;
  /** Release tag. Default `LANGFUSE_RELEASE`. */
  release?: string;
  /**
   * Which spans go to Langfuse. Default: llmscope's own spans (request, RAG steps, LLM calls)
   * plus what `@langfuse/otel` exports by default (GenAI spans, known LLM instrumentations).
   */
  shouldExportSpan?: (span: ReadableSpan) => boolean;
}

/** Sentry error reporting, through `@sentry/node`. */
export interface SentryExporterOptions {
  /** Default `SENTRY_DSN`. Not needed when the app called `Sentry.init()` itself: llmscope then uses that client. */
  dsn?: string;
  /** Default `SENTRY_ENVIRONMENT`. */
  environment?: string;
  /** Default `SENTRY_RELEASE`. */
  release?: string;
  /** Longest raw model output attached to a `validateOutput` failure, characters. Default 4000. */
  maxOutputLength?: number;
}

/** Exporters. Each is on when configured here or by its environment variables; `false` turns one off. */
export interface ExportersOptions {
  otlp?: OtlpExporterOptions | false;
  langfuse?: LangfuseExporterOptions | false;
  sentry?: SentryExporterOptions | false;
  /** Bounds of each exporter's queue (see {@link QueueLimits}); default from the `OTEL_BSP_*` variables. */
  queue?: Partial<QueueLimits>;
  /** An exporter's failures are logged at most once per this many ms. Default 60000. */
  failureLogIntervalMs?: number;
}

export interface ResolvedExporters {
  otlp: { url: string; headers: Record<string, string>; protocol: OtlpProtocol } | undefined;
  langfuse: { publicKey: string; secretKey: string; baseUrl: string; environment: string | undefined; release: string | undefined; shouldExportSpan: ((span: ReadableSpan) => boolean) | undefined } | undefined;
  sentry: { dsn: string | undefined; environment: string | undefined; release: string | undefined; maxOutputLength: number } | undefined;
  queue: QueueLimits;
  failureLogIntervalMs: number;
}

const KEYS = ['otlp', 'langfuse', 'sentry', 'queue', 'failureLogIntervalMs'] as const;
const OTLP_KEYS = ['url', 'headers', 'protocol'] as const;
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const satisfies readonly OtlpProtocol[];
const LANGFUSE_KEYS = ['publicKey', 'secretKey', 'baseUrl', 'environment', 'release', 'shouldExportSpan'] as const;
const SENTRY_KEYS = ['dsn', 'environment', 'release', 'maxOutputLength'] as const;
const QUEUE_KEYS = ['maxQueueSize', 'maxBatchSize', 'scheduledDelayMs', 'exportTimeoutMs'] as const;
/** OpenTelemetry's batch span processor variables, read for the queue bounds not given as options. */
const QUEUE_ENV = {
  maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  maxBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  scheduledDelayMs: 'OTEL_BSP_SCHEDULE_DELAY',
  exportTimeoutMs: 'OTEL_BSP_EXPORT_TIMEOUT',
} as const satisfies Record<keyof QueueLimits, string>;

/** An option's path or a variable's name. */
function sourceName(at: At): string {
  return typeof at === 'string' ? at : at.env;
}

/** A variable's text as the integer it spells (so the kit can check it), the text itself when it spells none, undefined when unset or blank. */
function envInteger(text: string | undefined): number | string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : text;
}
const OTLP_TRACES_URL = '"http://localhost:4318/v1/traces"';

/** Parses `k=v,k2=v2` (values URL-encoded), the format of `OTEL_EXPORTER_OTLP_HEADERS`. */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Keep it as written.
    }
    if (key) out[key] = value;
  }
  return out;
}

/**
 * `exporters.otlp.protocol`, else `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`,
 * else http/protobuf. Only the source that wins is checked, as for the URL.
 */
function resolveProtocol(option: unknown, env: NodeJS.ProcessEnv): OtlpProtocol {
  const source = firstSet<unknown>(
    ['exporters.otlp.protocol', option],
    [envVar('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'), env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || undefined],
    [envVar('OTEL_EXPORTER_OTLP_PROTOCOL'), env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || undefined],
  );
  if (source === undefined) return 'http/protobuf';
  // gRPC is a valid OTLP protocol, just not one llmscope sends: say what to do rather than only "one of".
  if (source.value === 'grpc') {
    invalid(source.at, 'http/protobuf or http/json (llmscope sends OTLP over HTTP only, not gRPC: run an OpenTelemetry Collector and send it http/protobuf, or use http/json)', source.value);
  }
  return oneOf(source.at, source.value, OTLP_PROTOCOLS) as OtlpProtocol;
}

function resolveOtlp(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters['otlp'] {
  const o = section('exporters.otlp', value, OTLP_KEYS);
  if (o === undefined) return undefined;
  const source = firstSet(
    ['exporters.otlp.url', httpUrl('exporters.otlp.url', o.url, OTLP_TRACES_URL)],
    [envVar('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined],
    [envVar('OTEL_EXPORTER_OTLP_ENDPOINT'), env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined],
  );
  // OTEL_TRACES_EXPORTER=none turns the zero-code exporter off (explicit options still win).
  if (value === undefined && (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((x) => x.trim()).includes('none')) return undefined;
  if (source === undefined) {
    if (value === undefined) return undefined;
    configError('the OTLP exporter needs a URL: set `exporters.otlp.url` (e.g. "http://localhost:4318/v1/traces") or OTEL_EXPORTER_OTLP_ENDPOINT.');
  }
  const isBase = typeof source.at !== 'string' && source.at.env === 'OTEL_EXPORTER_OTLP_ENDPOINT';
  httpUrl(source.at, source.value, isBase ? '"http://localhost:4318"' : OTLP_TRACES_URL);
  const url = isBase ? source.value.replace(/\/+$/, '') + '/v1/traces' : source.value;
  const headers = record('exporters.otlp.headers', o.headers, 'an object of string values, e.g. { "x-honeycomb-team": "KEY" }') ?? {};
  for (const [name, v] of Object.entries(headers)) string(entry('exporters.otlp.headers', name), v);
  const envHeaders = { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  return { url, headers: { ...envHeaders, ...(headers as Record<string, string>) }, protocol: resolveProtocol(o.protocol, env) };
}

function resolveLangfuse(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters['langfuse'] {
  const o = section('exporters.langfuse', value, LANGFUSE_KEYS);
  if (o === undefined) return undefined;
  const publicKey = nonEmptyString('exporters.langfuse.publicKey', o.publicKey) ?? (env.LANGFUSE_PUBLIC_KEY || undefined);
  const secretKey = nonEmptyString('exporters.langfuse.secretKey', o.secretKey, { secret: true }) ?? (env.LANGFUSE_SECRET_KEY || undefined);
  if (publicKey === undefined && secretKey === undefined && value === undefined) return undefined;
  if (publicKey === undefined || secretKey === undefined) {
    configError(`the Langfuse exporter needs both keys: set ${publicKey === undefined ? '`exporters.langfuse.publicKey` or LANGFUSE_PUBLIC_KEY' : '`exporters.langfuse.secretKey` or LANGFUSE_SECRET_KEY'} (Langfuse project settings → API keys), or set \`exporters.langfuse: false\`.`);
  }
  const base = firstSet(
    ['exporters.langfuse.baseUrl', nonEmptyString('exporters.langfuse.baseUrl', o.baseUrl)],
    [envVar('LANGFUSE_BASE_URL'), env.LANGFUSE_BASE_URL],
    [envVar('LANGFUSE_BASEURL'), env.LANGFUSE_BASEURL],
  ) ?? { at: 'exporters.langfuse.baseUrl', value: 'https://cloud.langfuse.com' };
  httpUrl(base.at, base.value, '"https://cloud.langfuse.com"');
  return {
    publicKey, secretKey,
    baseUrl: base.value.replace(/\/+$/, ''),
    environment: nonEmptyString('exporters.langfuse.environment', o.environment) ?? env.LANGFUSE_TRACING_ENVIRONMENT,
    release: nonEmptyString('exporters.langfuse.release', o.release) ?? env.LANGFUSE_RELEASE,
    shouldExportSpan: func<(span: ReadableSpan) => boolean>('exporters.langfuse.shouldExportSpan', o.shouldExportSpan, '(span) => boolean'),
  };
}

function isDsn(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username.length > 0 && u.pathname.length > 1;
  } catch {
    return false;
  }
}

function resolveSentry(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters['sentry'] {
  const o = section('exporters.sentry', value, SENTRY_KEYS);
  if (o === undefined) return undefined;
  const dsn = firstSet(
    ['exporters.sentry.dsn', nonEmptyString('exporters.sentry.dsn', o.dsn, { secret: true })],
    [envVar('SENTRY_DSN'), env.SENTRY_DSN || undefined],
  );
  // Explicit `sentry: {}` without a DSN is fine: it means "use the client the app initialised".
  if (dsn === undefined && value === undefined) return undefined;
  if (dsn !== undefined && !isDsn(dsn.value)) {
    invalid(dsn.at, 'a DSN like "https://<key>@<host>/<project>" (copy it from Sentry → Project settings → Client keys)', dsn.value, true);
  }
  return {
    dsn: dsn?.value,
    environment: nonEmptyString('exporters.sentry.environment', o.environment) ?? env.SENTRY_ENVIRONMENT,
    release: nonEmptyString('exporters.sentry.release', o.release) ?? env.SENTRY_RELEASE,
    maxOutputLength: positiveInt('exporters.sentry.maxOutputLength', o.maxOutputLength) ?? 4000,
  };
}

/** Validates the `exporters` option and applies the standard environment variables. */
export function resolveExporters(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters {
  if (value === false) value = { otlp: false, langfuse: false, sentry: false };
  const o = object('exporters', value, KEYS, 'an object or false') ?? {};
  const q = object('exporters.queue', o.queue, QUEUE_KEYS) ?? {};
  // Option, else OpenTelemetry's variable (as its BatchSpanProcessor reads it), else llmscope's default.
  const limit = (key: keyof QueueLimits): { at: At; value: number } | undefined => {
    const source = firstSet<unknown>([`exporters.queue.${key}`, q[key]], [envVar(QUEUE_ENV[key]), envInteger(env[QUEUE_ENV[key]])]);
    return source === undefined ? undefined : { at: source.at, value: positiveInt(source.at, source.value) as number };
  };
  const maxQueueSize = limit('maxQueueSize');
  const maxBatchSize = limit('maxBatchSize');
  const queue: QueueLimits = {
    maxQueueSize: maxQueueSize?.value ?? DEFAULT_QUEUE_LIMITS.maxQueueSize,
    maxBatchSize: maxBatchSize?.value ?? DEFAULT_QUEUE_LIMITS.maxBatchSize,
    scheduledDelayMs: limit('scheduledDelayMs')?.value ?? DEFAULT_QUEUE_LIMITS.scheduledDelayMs,
    exportTimeoutMs: limit('exportTimeoutMs')?.value ?? DEFAULT_QUEUE_LIMITS.exportTimeoutMs,
  };
  if (queue.maxBatchSize > queue.maxQueueSize) {
    // A batch size nobody set follows a smaller queue (as OpenTelemetry's processor does); one that was set is a mistake to report.
    if (maxBatchSize === undefined) queue.maxBatchSize = queue.maxQueueSize;
    else invalid(maxBatchSize.at, `at most ${maxQueueSize === undefined ? 'the queue size' : `\`${sourceName(maxQueueSize.at)}\``} (${queue.maxQueueSize})`, queue.maxBatchSize);
  }
  return {
    otlp: resolveOtlp(o.otlp, env),
    langfuse: resolveLangfuse(o.langfuse, env),
    sentry: resolveSentry(o.sentry, env),
    queue,
    failureLogIntervalMs: positiveInt('exporters.failureLogIntervalMs', o.failureLogIntervalMs) ?? 60000,
  };
}
