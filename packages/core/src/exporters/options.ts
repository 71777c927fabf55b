import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LlmscopeConfigError } from '../config/errors';
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './queue';

/** OTLP/HTTP trace exporter (Jaeger, Tempo, Honeycomb, an OpenTelemetry Collector, ...). */
export interface OtlpExporterOptions {
  /** Full traces URL, e.g. `http://collector:4318/v1/traces`. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
  url?: string;
  /** Extra request headers (API keys). Default: `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`). */
  headers?: Record<string, string>;
}

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
  /** Bounds of each exporter's queue (see {@link QueueLimits}). */
  queue?: Partial<QueueLimits>;
  /** An exporter's failures are logged at most once per this many ms. Default 60000. */
  failureLogIntervalMs?: number;
}

export interface ResolvedExporters {
  otlp: { url: string; headers: Record<string, string> } | undefined;
  langfuse: { publicKey: string; secretKey: string; baseUrl: string; environment: string | undefined; release: string | undefined; shouldExportSpan: ((span: ReadableSpan) => boolean) | undefined } | undefined;
  sentry: { dsn: string | undefined; environment: string | undefined; release: string | undefined; maxOutputLength: number } | undefined;
  queue: QueueLimits;
  failureLogIntervalMs: number;
}

const KEYS = ['otlp', 'langfuse', 'sentry', 'queue', 'failureLogIntervalMs'];
const OTLP_KEYS = ['url', 'headers'];
const LANGFUSE_KEYS = ['publicKey', 'secretKey', 'baseUrl', 'environment', 'release', 'shouldExportSpan'];
const SENTRY_KEYS = ['dsn', 'environment', 'release', 'maxOutputLength'];
const QUEUE_KEYS = ['maxQueueSize', 'maxBatchSize', 'scheduledDelayMs', 'exportTimeoutMs'];

function fail(message: string): never {
  throw new LlmscopeConfigError(message);
}

function object(name: string, value: unknown, keys: string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`option \`${name}\` must be an object${name === 'exporters' ? '' : ' or false'}.`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(`unknown option \`${name}.${key}\`. Known options: ${keys.join(', ')}.`);
  }
  return value as Record<string, unknown>;
}

function str(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) fail(`option \`${name}\` must be a non-empty string.`);
  return value;
}

function httpUrl(name: string, value: string, hint: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${name} must be an http(s) URL such as ${hint} (got ${JSON.stringify(value)}).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${name} must be an http(s) URL such as ${hint} (got ${JSON.stringify(value)}).`);
  return value;
}

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

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`option \`${name}\` must be a positive integer.`);
  return value;
}

function resolveOtlp(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters['otlp'] {
  if (value === false) return undefined;
  const o = value === undefined ? {} : object('exporters.otlp', value, OTLP_KEYS);
  let url = str('exporters.otlp.url', o.url);
  let where = '`exporters.otlp.url`';
  if (url === undefined && env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    where = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';
  } else if (url === undefined && env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    url = env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '') + '/v1/traces';
    where = 'OTEL_EXPORTER_OTLP_ENDPOINT';
  }
  // OTEL_TRACES_EXPORTER=none turns the zero-code exporter off (explicit options still win).
  if (value === undefined && (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((x) => x.trim()).includes('none')) return undefined;
  if (url === undefined) {
    if (value === undefined) return undefined;
    fail('the OTLP exporter needs a URL: set `exporters.otlp.url` (e.g. "http://localhost:4318/v1/traces") or OTEL_EXPORTER_OTLP_ENDPOINT.');
  }
  httpUrl(where, url, '"http://localhost:4318/v1/traces"');
  if (o.headers !== undefined && (o.headers === null || typeof o.headers !== 'object' || !Object.values(o.headers).every((v) => typeof v === 'string'))) {
    fail('option `exporters.otlp.headers` must be an object of string values, e.g. { "x-honeycomb-team": "KEY" }.');
  }
  const envHeaders = { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  return { url, headers: { ...envHeaders, ...(o.headers as Record<string, string> | undefined) } };
}

function resolveLangfuse(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters['langfuse'] {
  if (value === false) return undefined;
  const o = value === undefined ? {} : object('exporters.langfuse', value, LANGFUSE_KEYS);
  const publicKey = str('exporters.langfuse.publicKey', o.publicKey) ?? (env.LANGFUSE_PUBLIC_KEY || undefined);
  const secretKey = str('exporters.langfuse.secretKey', o.secretKey) ?? (env.LANGFUSE_SECRET_KEY || undefined);
  if (publicKey === undefined && secretKey === undefined && value === undefined) return undefined;
  if (publicKey === undefined || secretKey === undefined) {
    fail(`the Langfuse exporter needs both keys: set ${publicKey === undefined ? '`exporters.langfuse.publicKey` or LANGFUSE_PUBLIC_KEY' : '`exporters.langfuse.secretKey` or LANGFUSE_SECRET_KEY'} (Langfuse project settings → API keys), or set \`exporters.langfuse: false\`.`);
  }
  const baseUrl = (str('exporters.langfuse.baseUrl', o.baseUrl) ?? env.LANGFUSE_BASE_URL ?? env.LANGFUSE_BASEURL ?? 'https://cloud.langfuse.com').replace(/\/+$/, '');
  httpUrl('the Langfuse base URL (`exporters.langfuse.baseUrl` / LANGFUSE_BASE_URL)', baseUrl, '"https://cloud.langfuse.com"');
  if (o.shouldExportSpan !== undefined && typeof o.shouldExportSpan !== 'function') fail('option `exporters.langfuse.shouldExportSpan` must be a function (span) => boolean.');
  return {
    publicKey, secretKey, baseUrl,
    environment: str('exporters.langfuse.environment', o.environment) ?? env.LANGFUSE_TRACING_ENVIRONMENT,
    release: str('exporters.langfuse.release', o.release) ?? env.LANGFUSE_RELEASE,
    shouldExportSpan: o.shouldExportSpan as ((span: ReadableSpan) => boolean) | undefined,
  };
}

function resolveSentry(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters['sentry'] {
  if (value === false) return undefined;
  const o = value === undefined ? {} : object('exporters.sentry', value, SENTRY_KEYS);
  const dsn = str('exporters.sentry.dsn', o.dsn) ?? (env.SENTRY_DSN || undefined);
  // Explicit `sentry: {}` without a DSN is fine: it means "use the client the app initialised".
  if (dsn === undefined && value === undefined) return undefined;
  if (dsn !== undefined) {
    let ok = false;
    try {
      const u = new URL(dsn);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.username.length > 0 && u.pathname.length > 1;
    } catch {
      ok = false;
    }
    if (!ok) fail('the Sentry DSN (`exporters.sentry.dsn` / SENTRY_DSN) must look like "https://<key>@<host>/<project>"; copy it from Sentry → Project settings → Client keys.');
  }
  return {
    dsn,
    environment: str('exporters.sentry.environment', o.environment) ?? env.SENTRY_ENVIRONMENT,
    release: str('exporters.sentry.release', o.release) ?? env.SENTRY_RELEASE,
    maxOutputLength: positiveInt('exporters.sentry.maxOutputLength', o.maxOutputLength, 4000),
  };
}

/** Validates the `exporters` option and applies the standard environment variables. */
export function resolveExporters(value: unknown, env: NodeJS.ProcessEnv): ResolvedExporters {
  if (value === false) value = { otlp: false, langfuse: false, sentry: false };
  const o = value === undefined ? {} : object('exporters', value, KEYS);
  const q = o.queue === undefined ? {} : object('exporters.queue', o.queue, QUEUE_KEYS);
  const queue: QueueLimits = {
    maxQueueSize: positiveInt('exporters.queue.maxQueueSize', q.maxQueueSize, DEFAULT_QUEUE_LIMITS.maxQueueSize),
    maxBatchSize: positiveInt('exporters.queue.maxBatchSize', q.maxBatchSize, DEFAULT_QUEUE_LIMITS.maxBatchSize),
    scheduledDelayMs: positiveInt('exporters.queue.scheduledDelayMs', q.scheduledDelayMs, DEFAULT_QUEUE_LIMITS.scheduledDelayMs),
    exportTimeoutMs: positiveInt('exporters.queue.exportTimeoutMs', q.exportTimeoutMs, DEFAULT_QUEUE_LIMITS.exportTimeoutMs),
  };
  if (queue.maxBatchSize > queue.maxQueueSize) fail('option `exporters.queue.maxBatchSize` must not exceed `exporters.queue.maxQueueSize`.');
  return {
    otlp: resolveOtlp(o.otlp, env),
    langfuse: resolveLangfuse(o.langfuse, env),
    sentry: resolveSentry(o.sentry, env),
    queue,
    failureLogIntervalMs: positiveInt('exporters.failureLogIntervalMs', o.failureLogIntervalMs, 60000),
  };
}
