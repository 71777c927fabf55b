import type { Registry } from 'prom-client';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LlmscopeConfigError } from './errors';
import { resolveLlmOptions, type LlmOptions, type ResolvedLlmOptions } from '../genai/options';
import { resolveExporters, type ExportersOptions, type ResolvedExporters } from '../exporters/options';
import { resolveLogging, type LoggingOptions, type ResolvedLogging } from '../logging/options';
import type { RedactOptions } from '../logging/redact';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from '../sampling/options';

/** Who is making a request. Either field may be absent. */
export interface Identity {
  userId?: string;
  sessionId?: string;
}

/** Options of the Prometheus side of llmscope. */
export interface MetricsOptions {
  /** Path of the scrape endpoint. Default `/metrics`. `false` mounts no endpoint (metrics are still recorded). */
  path?: string | false;
  /** When set, the endpoint answers 401 unless the request carries `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /**
   * Registry the metrics are registered in. Default: a registry of llmscope's own, so that two
   * apps in one process, or the app's own metrics, never clash. Pass the app's registry to serve
   * everything from one endpoint; metrics already registered there under the same name are reused.
   */
  registry?: Registry;
  /** Collect prom-client's Node default metrics (event loop lag, heap, GC, ...). Default `true`. */
  defaultMetrics?: boolean;
  /** Buckets (seconds) of `http_server_request_duration_seconds`. Default: the OTel HTTP semconv buckets, extended to 60 s for LLM responses. */
  httpDurationBuckets?: number[];
}

/** Options of the tracing side of llmscope. */
export interface TracingOptions {
  /**
   * Span processors (exporters) to attach when llmscope registers the tracer provider itself.
   * When the app registered its own OpenTelemetry provider, add `llmscopeSpanProcessor` to it instead.
   */
  spanProcessors?: SpanProcessor[];
  /**
   * Print each finished request trace as a compact tree on stdout. Default: on when no span
   * processor and no exporter (options or environment) is configured and `NODE_ENV` is neither
   * `production` nor `test`.
   */
  printTraces?: boolean;
}

/**
 * Options accepted by every adapter (`llmscope(options)`, `register(llmscope, options)`,
 * `LlmscopeModule.forRoot(options)`). Every field is optional.
 *
 * @typeParam TRequest - the framework's request type, passed to `identify`.
 */
export interface LlmscopeOptions<TRequest = unknown> {
  /** `service.name` of the traces. Default: `OTEL_SERVICE_NAME`, else OpenTelemetry's default. */
  serviceName?: string;
  /**
   * Returns the user and session of a request. Called once when the request starts. Default: the
   * `x-user-id` and `x-session-id` headers (see `userHeader` / `sessionHeader`). Identity known only
   * later (after an auth middleware) is set with `setUser()` / `setSession()`.
   */
  identify?: (request: TRequest) => Identity | undefined;
  /** Header read for the user id when `identify` is not given. Default `x-user-id`. */
  userHeader?: string;
  /** Header read for the session id when `identify` is not given. Default `x-session-id`. */
  sessionHeader?: string;
  /** Response header that carries the trace id. Default `x-trace-id`; `false` sends none. */
  traceIdHeader?: string | false;
  /** Route label of requests that matched no route (404s). Default `unmatched`. */
  unmatchedRoute?: string;
  /** Longest user id, session id, feature or tag value kept; longer ones are clipped. Default 256. */
  maxValueLength?: number;
  /** Most tags kept on one request; later ones are ignored. Default 32. */
  maxTags?: number;
  /** Most distinct route labels; requests on further routes share the label `other`. Default 1000. */
  maxRoutes?: number;
  /** Prometheus options, or `false` to record no metrics and mount no endpoint. */
  metrics?: MetricsOptions | false;
  /** Tracing options, or `false` to create no spans (context and metrics still work). `OTEL_SDK_DISABLED=true` has the same effect. */
  tracing?: TracingOptions | false;
  /** LLM options: price overrides for custom models, content capture, cost attribution bounds. See docs/llm.md. */
  llm?: LlmOptions;
  /**
   * Exporters: OTLP/HTTP, Langfuse, Sentry. Each is also turned on with zero code by its standard
   * environment variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `LANGFUSE_PUBLIC_KEY`/`LANGFUSE_SECRET_KEY`,
   * `SENTRY_DSN`); options override the environment; `false` turns all off. See docs/exporters.md.
   */
  exporters?: ExportersOptions | false;
  /** Structured JSON logs with pino: `true`, or options such as `{ logger: pino() }`. Default off. See docs/logging.md. */
  logging?: LoggingOptions | boolean;
  /** Redaction of secrets and e-mail addresses before any log line or exporter sees them. On by default; `false` turns it off. */
  redact?: RedactOptions | false;
  /** Flush telemetry on these signals (then let them end the process as usual). `true` means `['SIGTERM']`. Default off. */
  shutdownOnSignal?: boolean | NodeJS.Signals[];
  /** How long `shutdown()` (and the signal hook) may take to flush, ms. Default 5000. */
  shutdownTimeoutMs?: number;
  /**
   * Trace sampling: head (`OTEL_TRACES_SAMPLER*`) and in-process tail sampling in front of every
   * exporter (keep errors, slow and priority traces, plus a base rate). Metrics and cost always
   * count 100% of requests. `false` turns tail sampling off. See docs/sampling.md.
   */
  sampling?: SamplingOptions | false;
}

/** Options after defaults, environment and validation. */
export interface ResolvedOptions {
  serviceName: string | undefined;
  identify: ((request: unknown) => Identity | undefined) | undefined;
  userHeader: string;
  sessionHeader: string;
  traceIdHeader: string | undefined;
  unmatchedRoute: string;
  maxValueLength: number;
  maxTags: number;
  maxRoutes: number;
  metrics: {
    path: string | undefined;
    bearerToken: string | undefined;
    registry: Registry | undefined;
    defaultMetrics: boolean;
    httpDurationBuckets: number[];
  } | undefined;
  tracing: { spanProcessors: SpanProcessor[]; printTraces: boolean } | undefined;
  llm: ResolvedLlmOptions;
  exporters: ResolvedExporters;
  logging: ResolvedLogging | undefined;
  redact: RedactOptions | false;
  shutdownOnSignal: NodeJS.Signals[];
  shutdownTimeoutMs: number;
  sampling: ResolvedSampling;
}

/** OTel HTTP semconv buckets, extended because LLM answers often take 10-60 s. */
export const DEFAULT_HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 30, 60];

const TOP_LEVEL_KEYS = [
  'serviceName', 'identify', 'userHeader', 'sessionHeader', 'traceIdHeader', 'unmatchedRoute',
  'maxValueLength', 'maxTags', 'maxRoutes', 'metrics', 'tracing',
  'llm',
  'exporters', 'logging', 'redact', 'shutdownOnSignal', 'shutdownTimeoutMs',
  'sampling',
];
const METRICS_KEYS = ['path', 'bearerToken', 'registry', 'defaultMetrics', 'httpDurationBuckets'];
const TRACING_KEYS = ['spanProcessors', 'printTraces'];
// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function fail(message: string): never {
  throw new LlmscopeConfigError(message);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function checkKeys(where: string, value: object, known: string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || k.startsWith(key) || key.startsWith(k));
    fail(`unknown option \`${where}${key}\`.${near ? ` Did you mean \`${where}${near}\`?` : ''} Known options: ${known.join(', ')}.`);
  }
}

function optString(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) fail(`option \`${name}\` must be a non-empty string (got ${describe(value)}).`);
  return value;
}

function headerName(name: string, value: unknown, fallback: string): string {
  const header = optString(name, value, fallback);
  if (!HEADER_NAME.test(header)) fail(`option \`${name}\` must be a valid HTTP header name such as "${fallback}" (got ${describe(value)}).`);
  return header.toLowerCase();
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`option \`${name}\` must be a positive integer (got ${describe(value)}).`);
  return value;
}

function resolveMetrics(value: unknown): ResolvedOptions['metrics'] {
  if (value === false) return undefined;
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`option \`metrics\` must be an object or false (got ${describe(value)}).`);
  const m = value as MetricsOptions;
  checkKeys('metrics.', m, METRICS_KEYS);
  let path: string | undefined = '/metrics';
  if (m.path === false) path = undefined;
  else if (m.path !== undefined) {
    if (typeof m.path !== 'string' || !m.path.startsWith('/')) fail(`option \`metrics.path\` must be a path starting with "/", such as "/metrics", or false (got ${describe(m.path)}).`);
    path = m.path;
  }
  if (m.bearerToken !== undefined && (typeof m.bearerToken !== 'string' || m.bearerToken.length === 0)) {
    fail('option `metrics.bearerToken` must be a non-empty string; remove it to leave the endpoint open.');
  }
  if (m.registry !== undefined && (m.registry === null || typeof (m.registry as Partial<Registry>).registerMetric !== 'function')) {
    fail('option `metrics.registry` must be a prom-client Registry (new Registry() or the default `register`).');
  }
  if (m.defaultMetrics !== undefined && typeof m.defaultMetrics !== 'boolean') fail(`option \`metrics.defaultMetrics\` must be true or false (got ${describe(m.defaultMetrics)}).`);
  let buckets = DEFAULT_HTTP_BUCKETS;
  if (m.httpDurationBuckets !== undefined) {
    const b = m.httpDurationBuckets;
    const ok = Array.isArray(b) && b.length > 0 && b.every((x, i) => typeof x === 'number' && x > 0 && Number.isFinite(x) && (i === 0 || x > (b[i - 1] as number)));
    if (!ok) fail('option `metrics.httpDurationBuckets` must be a non-empty array of positive numbers in increasing order (seconds).');
    buckets = b;
  }
  return { path, bearerToken: m.bearerToken, registry: m.registry, defaultMetrics: m.defaultMetrics ?? true, httpDurationBuckets: buckets };
}

function resolveTracing(value: unknown, env: NodeJS.ProcessEnv): ResolvedOptions['tracing'] {
  if (value === false || env.OTEL_SDK_DISABLED === 'true') return undefined;
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`option \`tracing\` must be an object or false (got ${describe(value)}).`);
  const t = value as TracingOptions;
  checkKeys('tracing.', t, TRACING_KEYS);
  const processors = t.spanProcessors ?? [];
  if (!Array.isArray(processors) || !processors.every((p) => p !== null && typeof p === 'object' && typeof p.onEnd === 'function' && typeof p.onStart === 'function')) {
    fail('option `tracing.spanProcessors` must be an array of OpenTelemetry SpanProcessor objects (e.g. new BatchSpanProcessor(exporter)).');
  }
  if (t.printTraces !== undefined && typeof t.printTraces !== 'boolean') fail(`option \`tracing.printTraces\` must be true or false (got ${describe(t.printTraces)}).`);
  const quietEnv = env.NODE_ENV === 'production' || env.NODE_ENV === 'test';
  return { spanProcessors: processors, printTraces: t.printTraces ?? (processors.length === 0 && !quietEnv) };
}

function resolveRedact(value: unknown): RedactOptions | false {
  if (value === undefined) return {};
  if (value === false) return false;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('option `redact` must be an object such as { patterns: [/cust-\\d+/] } or false.');
  const r = value as RedactOptions;
  checkKeys('redact.', r, ['secrets', 'emails', 'patterns', 'replacement']);
  for (const key of ['secrets', 'emails'] as const) {
    if (r[key] !== undefined && typeof r[key] !== 'boolean') fail(`option \`redact.${key}\` must be true or false.`);
  }
  if (r.replacement !== undefined && typeof r.replacement !== 'string') fail('option `redact.replacement` must be a string such as "[REDACTED]".');
  if (r.patterns !== undefined && (!Array.isArray(r.patterns) || !r.patterns.every((p) => p instanceof RegExp || (p !== null && typeof p === 'object' && p.pattern instanceof RegExp)))) {
    fail('option `redact.patterns` must be an array of regular expressions (or { pattern, replacement } objects).');
  }
  return r;
}

function resolveSignals(value: unknown): NodeJS.Signals[] {
  if (value === undefined || value === false) return [];
  if (value === true) return ['SIGTERM'];
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s))) {
    fail('option `shutdownOnSignal` must be true, false or an array of signal names such as ["SIGTERM", "SIGINT"].');
  }
  return value as NodeJS.Signals[];
}

/**
 * Validates options and applies defaults and the standard environment variables.
 * Throws {@link LlmscopeConfigError} with a message that says what to change.
 */
export function resolveOptions(options: LlmscopeOptions<never> | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const o = (options ?? {}) as LlmscopeOptions<unknown>;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(`options must be an object (got ${describe(o)}).`);
  checkKeys('', o, TOP_LEVEL_KEYS);
  if (o.identify !== undefined && typeof o.identify !== 'function') fail('option `identify` must be a function (request) => ({ userId, sessionId }).');
  let traceIdHeader: string | undefined = 'x-trace-id';
  if (o.traceIdHeader === false) traceIdHeader = undefined;
  else traceIdHeader = headerName('traceIdHeader', o.traceIdHeader, 'x-trace-id');
  const tracing = resolveTracing(o.tracing, env);
  const exporters = resolveExporters(o.exporters, env);
  // An exporter means traces have somewhere to go: printing them too is noise unless asked for.
  const explicitPrint = typeof o.tracing === 'object' && o.tracing !== null && o.tracing.printTraces !== undefined;
  if (tracing !== undefined && !explicitPrint && (exporters.otlp !== undefined || exporters.langfuse !== undefined)) tracing.printTraces = false;
  return {
    serviceName: o.serviceName === undefined ? undefined : optString('serviceName', o.serviceName, ''),
    identify: o.identify,
    userHeader: headerName('userHeader', o.userHeader, 'x-user-id'),
    sessionHeader: headerName('sessionHeader', o.sessionHeader, 'x-session-id'),
    traceIdHeader,
    unmatchedRoute: optString('unmatchedRoute', o.unmatchedRoute, 'unmatched'),
    maxValueLength: positiveInt('maxValueLength', o.maxValueLength, 256),
    maxTags: positiveInt('maxTags', o.maxTags, 32),
    maxRoutes: positiveInt('maxRoutes', o.maxRoutes, 1000),
    metrics: resolveMetrics(o.metrics),
    tracing,
    llm: resolveLlmOptions(o.llm),
    exporters,
    logging: resolveLogging(o.logging, env, o.serviceName ?? env.OTEL_SERVICE_NAME),
    redact: resolveRedact(o.redact),
    shutdownOnSignal: resolveSignals(o.shutdownOnSignal),
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs', o.shutdownTimeoutMs, 5000),
    sampling: resolveSampling(o.sampling, env),
  };
}
