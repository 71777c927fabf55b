import type { Registry } from 'prom-client';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { arrayOf, boolean, buckets, check, configError, field, func, nonEmptyString, object, positiveInt, record, section, string } from './validate';
import { resolveLlmOptions, type LlmOptions, type ResolvedLlmOptions } from '../genai/options';
import { resolveEvaluations, type EvaluationsOptions, type ResolvedEvaluations } from '../evals/options';
import { resolveExporters, type ExportersOptions, type ResolvedExporters } from '../exporters/options';
import { resolveLogging, type LoggingOptions, type ResolvedLogging } from '../logging/options';
import type { RedactOptions } from '../logging/redact';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from '../sampling/options';
import { resolvePrompts, type PromptsOptions, type ResolvedPrompts } from '../prompts/options';
import { resolveBudgets, type BudgetsOptions, type ResolvedBudgets } from '../budgets/options';

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
  /**
   * Requests that get no HTTP metrics and no span (health checks, readiness probes). Each item is
   * an exact path (`'/healthz'`: decided when the request starts, query ignored), a route template
   * with parameters (`'/items/:id'`: decided when the route is known, metrics only, see
   * docs/metrics.md), or a predicate `(method, path) => boolean` called once per request with the
   * path without its query. Default: none (nothing is checked per request).
   */
  exclude?: Array<string | ((method: string, path: string) => boolean)>;
  /**
   * Prefix of the names of llmscope's metrics (`myapp_` gives `myapp_http_server_requests_total`),
   * prom-client's default metrics included. A Prometheus name prefix: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
   * Default: none (the names in docs/metrics.md).
   */
  prefix?: string;
  /**
   * Constant labels added to every series of llmscope's registry (`{ service: 'rag-api', env: 'prod' }`),
   * with prom-client's `setDefaultLabels`. Not allowed with `registry` (it would label the app's
   * own metrics too): call `setDefaultLabels` on that registry instead.
   */
  labels?: Record<string, string>;
  /**
   * Serve the metrics endpoint on this port, from a small `node:http` server of llmscope's own,
   * instead of on the app's port (the adapters then do not serve it). Closed by `shutdown()`.
   */
  port?: number;
  /**
   * Tags (set with `tag(key, value)`) that become labels of the HTTP metrics, each with a cap on
   * its distinct values: `{ tier: { max: 10 } }`. Past `max` values a tag is labelled `other`;
   * a request without the tag is labelled `none`. Never put user or session ids here. Default: none.
   */
  tagLabels?: Record<string, { max: number }>;
  /** Interface of the `port` server. Default: all interfaces (what a Prometheus scraping pod IPs needs). */
  host?: string;
  /**
   * Exemplars: the trace id (`trace_id`) of a recent request or LLM call in each bucket of the
   * HTTP and LLM duration histograms, served when a scraper asks for OpenMetrics, so that Grafana
   * jumps from a slow bucket to its trace. Costs well under a microsecond per request
   * (docs/metrics.md). Default: true.
   */
  exemplars?: boolean;
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
  /**
   * Trace the app's outgoing HTTP calls (`fetch`, `http`/`https`) made inside a request: each gets
   * a CLIENT span, child of the active span (the request's or the `step()` it runs in), and
   * carries the trace on as `traceparent`, so the next service joins it. Calls that already have
   * a `traceparent`, or that an OpenTelemetry HTTP/undici instrumentation of the app handles, are
   * left alone. Default `true`. See docs/tracing.md.
   */
  outgoing?: boolean;
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
  /**
   * Flush telemetry on these signals, then let them end the process as usual (when the app has
   * its own listener for the signal, the app decides when to exit). `true` means
   * `['SIGTERM', 'SIGINT']`; `false` opts out. Default: `['SIGTERM', 'SIGINT']` when an exporter
   * (OTLP, Langfuse, Sentry, from options or the environment) or `tracing.spanProcessors` is
   * configured, else off. See docs/reliability.md.
   */
  shutdownOnSignal?: boolean | NodeJS.Signals[];
  /** How long `shutdown()` (and the signal hook) may take to flush, ms. Default 5000. */
  shutdownTimeoutMs?: number;
  /**
   * Trace sampling: head (`OTEL_TRACES_SAMPLER*`) and in-process tail sampling in front of every
   * exporter (keep errors, slow and priority traces, plus a base rate). Metrics and cost always
   * count 100% of requests. `false` turns tail sampling off. See docs/sampling.md.
   */
  sampling?: SamplingOptions | false;
  /** Scores and evaluations: the recent-trace index for late scores. See docs/evaluations.md. */
  evaluations?: EvaluationsOptions;
  /** Prompts: the registry (local prompts, a folder, Langfuse) and experiments. See docs/prompts.md. */
  prompts?: PromptsOptions;
  /**
   * Daily and monthly cost and token budgets (total, per feature, per user), exported as gauges,
   * with an optional enforcement (`onExhausted`: warn, reject with 429, or a cheaper model). See docs/ops.md.
   */
  budgets?: BudgetsOptions;
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
    /** Exact paths excluded when the request starts; undefined when none. */
    excludePaths: Set<string> | undefined;
    /** Route templates (with parameters) excluded from metrics when the route is known; undefined when none. */
    excludeRoutes: Set<string> | undefined;
    /** The predicates, combined into one; undefined when none. */
    excludeRequest: ((method: string, path: string) => boolean) | undefined;
    prefix: string;
    labels: Record<string, string> | undefined;
    port: number | undefined;
    host: string | undefined;
    /** Tag keys labelled on the HTTP metrics, with their caps; undefined when none. */
    tagLabels: Array<{ key: string; max: number }> | undefined;
    exemplars: boolean;
  } | undefined;
  tracing: { spanProcessors: SpanProcessor[]; printTraces: boolean; outgoing: boolean } | undefined;
  llm: ResolvedLlmOptions;
  exporters: ResolvedExporters;
  logging: ResolvedLogging | undefined;
  redact: RedactOptions | false;
  shutdownOnSignal: NodeJS.Signals[];
  shutdownTimeoutMs: number;
  sampling: ResolvedSampling;
  evaluations: ResolvedEvaluations;
  prompts: ResolvedPrompts;
  budgets: ResolvedBudgets | undefined;
}

/** OTel HTTP semconv buckets, extended because LLM answers often take 10-60 s. */
export const DEFAULT_HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 30, 60];

const TOP_LEVEL_KEYS = [
  'serviceName', 'identify', 'userHeader', 'sessionHeader', 'traceIdHeader', 'unmatchedRoute',
  'maxValueLength', 'maxTags', 'maxRoutes', 'metrics', 'tracing',
  'llm',
  'exporters', 'logging', 'redact', 'shutdownOnSignal', 'shutdownTimeoutMs',
  'sampling', 'evaluations', 'prompts', 'budgets',
] as const;
const METRICS_KEYS = ['path', 'bearerToken', 'registry', 'defaultMetrics', 'httpDurationBuckets', 'exclude', 'prefix', 'labels', 'port', 'host', 'tagLabels', 'exemplars'] as const;
const TAG_LABEL_KEYS = ['max'] as const;
/** Most tag labels: each one multiplies the HTTP series. */
const MAX_TAG_LABELS = 5;

function resolveTagLabels(value: unknown, constant: Record<string, string> | undefined): Array<{ key: string; max: number }> | undefined {
  const tags = record('metrics.tagLabels', value, 'an object of tag keys to caps, such as { tier: { max: 10 } }');
  if (tags === undefined) return undefined;
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAG_LABELS) configError(`option \`metrics.tagLabels\` has ${keys.length} tags; at most ${MAX_TAG_LABELS} (each one multiplies the HTTP series).`);
  const resolved = keys.map((key) => {
    const at = field('metrics.tagLabels', key);
    if (!LABEL_NAME.test(key) || key.startsWith('__') || RESERVED_LABELS.includes(key) || (constant !== undefined && key in constant)) {
      configError(`option \`${at}\` must have a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __, not one of ${RESERVED_LABELS.join(', ')} nor a key of \`metrics.labels\`), got ${JSON.stringify(key)}.`);
    }
    const t = object(at, tags[key], TAG_LABEL_KEYS, 'an object such as { max: 10 }');
    const max = positiveInt(field(at, 'max'), t?.max, 'a positive integer (the most distinct values kept), such as 10');
    if (max === undefined) configError(`option \`${field(at, 'max')}\` is required: a positive integer (the most distinct values kept), such as 10.`);
    return { key, max };
  });
  return resolved.length === 0 ? undefined : resolved;
}
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels llmscope's own metrics use: a constant label of the same name would clash with them. */
const RESERVED_LABELS = ['method', 'route', 'status_code', 'le', 'quantile'];
type ExcludeItem = string | ((method: string, path: string) => boolean);

function resolveExclude(value: unknown): Pick<NonNullable<ResolvedOptions['metrics']>, 'excludePaths' | 'excludeRoutes' | 'excludeRequest'> {
  const items = arrayOf('metrics.exclude', value, {
    test: (v): v is ExcludeItem => (typeof v === 'string' && v.startsWith('/')) || typeof v === 'function',
    expected: 'a path or route template starting with "/", such as "/healthz", or a function (method, path) => boolean',
  }, 'an array of paths, route templates or functions, such as ["/healthz", "/ready"]') ?? [];
  let excludePaths: Set<string> | undefined;
  let excludeRoutes: Set<string> | undefined;
  const predicates: ((method: string, path: string) => boolean)[] = [];
  for (const item of items) {
    if (typeof item === 'function') predicates.push(item);
    // A template with a parameter or a wildcard cannot match a path: it is decided on the route.
    else if (item.includes(':') || item.includes('*')) (excludeRoutes ??= new Set()).add(item);
    else {
      (excludePaths ??= new Set()).add(item);
      (excludeRoutes ??= new Set()).add(item);
    }
  }
  const excludeRequest = predicates.length === 0 ? undefined
    : predicates.length === 1 ? predicates[0]
    : (method: string, path: string): boolean => predicates.some((p) => p(method, path));
  return { excludePaths, excludeRoutes, excludeRequest };
}

function resolveConstantLabels(value: unknown, registry: Registry | undefined): Record<string, string> | undefined {
  const labels = record('metrics.labels', value, "an object of label names to string values, such as { service: 'rag-api', env: 'prod' }");
  if (labels === undefined) return undefined;
  for (const [name, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || RESERVED_LABELS.includes(name)) {
      configError(`option \`${field('metrics.labels', name)}\` must have a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __, not one of ${RESERVED_LABELS.join(', ')}), got ${JSON.stringify(name)}.`);
    }
    string(field('metrics.labels', name), v, "a string such as 'prod'");
  }
  if (registry !== undefined && Object.keys(labels).length > 0) {
    configError('option `metrics.labels` cannot be combined with `metrics.registry`: constant labels apply to a whole registry, so they would label your own metrics too. Call `registry.setDefaultLabels({ ... })` on your registry instead, or remove `metrics.registry`.');
  }
  return Object.keys(labels).length === 0 ? undefined : labels as Record<string, string>;
}
const TRACING_KEYS = ['spanProcessors', 'printTraces', 'outgoing'] as const;
const REDACT_KEYS = ['secrets', 'emails', 'patterns', 'replacement', 'appSpanProcessors'] as const;
// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerName(name: string, value: unknown, fallback: string): string {
  const header = check(name, value, (v): v is string => typeof v === 'string' && HEADER_NAME.test(v), `a valid HTTP header name such as "${fallback}"`);
  return (header ?? fallback).toLowerCase();
}

function isRegistry(value: unknown): value is Registry {
  return value !== null && typeof value === 'object' && typeof (value as Partial<Registry>).registerMetric === 'function';
}

function isSpanProcessor(value: unknown): value is SpanProcessor {
  return value !== null && typeof value === 'object' && typeof (value as Partial<SpanProcessor>).onEnd === 'function' && typeof (value as Partial<SpanProcessor>).onStart === 'function';
}

function isRedactPattern(value: unknown): value is NonNullable<RedactOptions['patterns']>[number] {
  return value instanceof RegExp || (value !== null && typeof value === 'object' && (value as { pattern?: unknown }).pattern instanceof RegExp);
}

function resolveMetrics(value: unknown): ResolvedOptions['metrics'] {
  const m = section('metrics', value, METRICS_KEYS);
  if (m === undefined) return undefined;
  const path = m.path === false ? undefined
    : check('metrics.path', m.path, (v): v is string => typeof v === 'string' && v.startsWith('/'), 'a path starting with "/", such as "/metrics", or false') ?? '/metrics';
  if (m.host !== undefined && m.port === undefined) configError('option `metrics.host` is the interface of the `metrics.port` server: set `metrics.port` too (such as 9464), or remove `metrics.host`.');
  if (m.port !== undefined && path === undefined) configError('option `metrics.port` serves the metrics endpoint, but `metrics.path` is false: remove one of them.');
  return {
    path,
    bearerToken: nonEmptyString('metrics.bearerToken', m.bearerToken, { expected: 'a non-empty string (remove it to leave the endpoint open)', secret: true }),
    registry: check('metrics.registry', m.registry, isRegistry, 'a prom-client Registry (new Registry() or the default `register`)'),
    defaultMetrics: boolean('metrics.defaultMetrics', m.defaultMetrics) ?? true,
    httpDurationBuckets: buckets('metrics.httpDurationBuckets', m.httpDurationBuckets) ?? DEFAULT_HTTP_BUCKETS,
    ...resolveExclude(m.exclude),
    prefix: check('metrics.prefix', m.prefix, (v): v is string => typeof v === 'string' && METRIC_PREFIX.test(v), 'a Prometheus metric name prefix such as "myapp_" ([a-zA-Z_:][a-zA-Z0-9_:]*)') ?? '',
    labels: resolveConstantLabels(m.labels, m.registry as Registry | undefined),
    tagLabels: resolveTagLabels(m.tagLabels, m.labels as Record<string, string> | undefined),
    port: check('metrics.port', m.port, (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535, 'a port number from 0 to 65535, such as 9464 (0: any free port)'),
    host: nonEmptyString('metrics.host', m.host, { expected: 'a host name or address such as "0.0.0.0" or "127.0.0.1"' }),
    exemplars: boolean('metrics.exemplars', m.exemplars) ?? true,
  };
}

function resolveTracing(value: unknown, env: NodeJS.ProcessEnv): ResolvedOptions['tracing'] {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const t = section('tracing', value, TRACING_KEYS);
  if (t === undefined) return undefined;
  const processors = arrayOf('tracing.spanProcessors', t.spanProcessors ?? undefined, {
    test: isSpanProcessor,
    expected: 'an OpenTelemetry SpanProcessor (e.g. new BatchSpanProcessor(exporter))',
  }, 'an array of OpenTelemetry SpanProcessor objects') ?? [];
  const printTraces = boolean('tracing.printTraces', t.printTraces);
  const quietEnv = env.NODE_ENV === 'production' || env.NODE_ENV === 'test';
  return { spanProcessors: processors, printTraces: printTraces ?? (processors.length === 0 && !quietEnv), outgoing: boolean('tracing.outgoing', t.outgoing) ?? true };
}

function resolveRedact(value: unknown): RedactOptions | false {
  if (value === false) return false;
  const r = object('redact', value, REDACT_KEYS, 'an object such as { patterns: [/cust-\\d+/] } or false');
  if (r === undefined) return {};
  boolean('redact.secrets', r.secrets);
  boolean('redact.emails', r.emails);
  arrayOf('redact.patterns', r.patterns, { test: isRedactPattern, expected: 'a regular expression or a { pattern, replacement } object' });
  string('redact.replacement', r.replacement, 'a string such as "[REDACTED]"');
  boolean('redact.appSpanProcessors', r.appSpanProcessors);
  return r as RedactOptions;
}

/** The signals flushed on by default (and by `true`): a deploy's SIGTERM, a terminal's Ctrl-C. */
const FLUSH_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** `buffering`: something holds telemetry in memory (an exporter or the app's span processors). */
function resolveSignals(value: unknown, buffering: boolean): NodeJS.Signals[] {
  if (value === undefined) return buffering ? [...FLUSH_SIGNALS] : [];
  if (value === false) return [];
  if (value === true) return [...FLUSH_SIGNALS];
  return arrayOf('shutdownOnSignal', value, {
    test: (s): s is NodeJS.Signals => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s),
    expected: 'a signal name such as "SIGTERM" or "SIGINT"',
  }, 'true, false or an array of signal names such as ["SIGTERM", "SIGINT"]') ?? [];
}

/**
 * Validates options and applies defaults and the standard environment variables.
 * Throws {@link LlmscopeConfigError} with a message that says what to change.
 */
export function resolveOptions(options: LlmscopeOptions<never> | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const o = object('', options ?? {}, TOP_LEVEL_KEYS) ?? {};
  const serviceName = nonEmptyString('serviceName', o.serviceName);
  const tracing = resolveTracing(o.tracing, env);
  const exporters = resolveExporters(o.exporters, env);
  // An exporter means traces have somewhere to go: printing them too is noise unless asked for.
  const explicitPrint = typeof o.tracing === 'object' && o.tracing !== null && (o.tracing as TracingOptions).printTraces !== undefined;
  if (tracing !== undefined && !explicitPrint && (exporters.otlp !== undefined || exporters.langfuse !== undefined)) tracing.printTraces = false;
  return {
    serviceName,
    identify: func<(request: unknown) => Identity | undefined>('identify', o.identify, '(request) => ({ userId, sessionId })'),
    userHeader: headerName('userHeader', o.userHeader, 'x-user-id'),
    sessionHeader: headerName('sessionHeader', o.sessionHeader, 'x-session-id'),
    traceIdHeader: o.traceIdHeader === false ? undefined : headerName('traceIdHeader', o.traceIdHeader, 'x-trace-id'),
    unmatchedRoute: nonEmptyString('unmatchedRoute', o.unmatchedRoute) ?? 'unmatched',
    maxValueLength: positiveInt('maxValueLength', o.maxValueLength) ?? 256,
    maxTags: positiveInt('maxTags', o.maxTags) ?? 32,
    maxRoutes: positiveInt('maxRoutes', o.maxRoutes) ?? 1000,
    metrics: resolveMetrics(o.metrics),
    tracing,
    llm: resolveLlmOptions(o.llm),
    exporters,
    logging: resolveLogging(o.logging, env, serviceName ?? env.OTEL_SERVICE_NAME),
    redact: resolveRedact(o.redact),
    shutdownOnSignal: resolveSignals(o.shutdownOnSignal,
      exporters.otlp !== undefined || exporters.langfuse !== undefined || exporters.sentry !== undefined || (tracing?.spanProcessors.length ?? 0) > 0),
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs', o.shutdownTimeoutMs) ?? 5000,
    sampling: resolveSampling(o.sampling, env),
    evaluations: resolveEvaluations(o.evaluations),
    prompts: resolvePrompts(o.prompts, exporters.langfuse, env),
    budgets: resolveBudgets(o.budgets),
  };
}
