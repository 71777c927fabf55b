import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LlmscopeConfigError } from '../config/errors';

/** Head sampling: decided when a trace starts, propagated downstream in `traceparent`'s sampled flag. */
export interface HeadSamplingOptions {
  /**
   * Fraction of new traces sampled, 0 to 1 (decided from the trace id, so every service using
   * the same ratio agrees). Default: `OTEL_TRACES_SAMPLER_ARG` when `OTEL_TRACES_SAMPLER` is a
   * ratio sampler, else 1.
   */
  ratio?: number;
  /**
   * Follow the caller's decision (the sampled flag of an incoming `traceparent`, or of the
   * parent span) and apply `ratio` only to traces that start here. Default `true`, or what
   * `OTEL_TRACES_SAMPLER` says (`traceidratio` and `always_*` are not parent-based).
   */
  parentBased?: boolean;
}

/** What a custom priority predicate sees: a finished local trace. */
export interface TraceSummary {
  /** The local root span (the request span, or the first span of a job). */
  root: ReadableSpan;
  /** Every span of the trace held so far, the root included. */
  spans: readonly ReadableSpan[];
  /** Route template of the root (`http.route`), else its name. */
  route: string;
  /** Duration of the root, ms. */
  durationMs: number;
  /** Whether a span of the trace ended in error. */
  error: boolean;
}

/** Priority rules: a trace matching any of them is always kept. */
export interface PriorityRules {
  /** User ids (the request's `user.id`, from `x-user-id`, `identify` or `setUser()`) whose traces are all kept. */
  users?: Iterable<string>;
  /**
   * Tags (set with `tag(key, value)`) that make a trace a priority, e.g. `{ tier: 'paid' }`;
   * an array lists several accepted values.
   */
  tags?: Record<string, string | number | boolean | (string | number | boolean)[]>;
  /** A custom rule; a throwing predicate counts as "no". */
  when?: (trace: TraceSummary) => boolean;
}

/** Rolling per-route latency rule: keep traces slower than a percentile of their route's recent requests. */
export interface RouteLatencyOptions {
  /** Percentile, between 0.5 and 0.999. Default 0.95. */
  percentile?: number;
  /** Recent requests kept per route. Default 200. */
  window?: number;
  /** Requests a route needs before the rule applies to it. Default 50. */
  minSamples?: number;
}

/** Tail sampling: a trace's spans are held until its local root ends, then the trace is kept or dropped whole. */
export interface TailSamplingOptions {
  /**
   * Fraction of the traces no rule keeps that are kept anyway, 0 to 1 (decided from the trace
   * id). Default 0.05 when `NODE_ENV` is `production`, 1 otherwise (development and tests
   * see every trace, as the trace printer expects).
   */
  baseRate?: number;
  /** Keep every trace with a span in error (5xx, a failed LLM call or step). Default `true`. */
  keepErrors?: boolean;
  /** Keep every trace whose root took at least this long, ms. Default: none. */
  slowMs?: number;
  /** Keep traces slower than the rolling percentile of their route. Default on (p95 of the last 200, after 50). `false` turns it off. */
  routeLatency?: RouteLatencyOptions | boolean;
  /** Priority rules: users, tags, a predicate. */
  priority?: PriorityRules;
  /** Most traces held at once; when full, the oldest is decided early on what it holds. Default 10000. */
  maxTraces?: number;
  /** Most spans held for one trace; later ones are dropped and counted. Default 1000. */
  maxSpansPerTrace?: number;
  /** Longest a trace is held waiting for its root, ms; then it is decided early. Default 60000. */
  maxAgeMs?: number;
}

/** The `sampling` option. */
export interface SamplingOptions {
  /** Head sampling (the tracer provider's sampler). Also configured by `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`. */
  head?: HeadSamplingOptions;
  /** Tail sampling in front of the exporters, the printer and the LLM log lines. On by default; `false` exports every sampled trace. */
  tail?: TailSamplingOptions | false;
}

/** Resolved head sampling. */
export interface ResolvedHeadSampling {
  ratio: number;
  parentBased: boolean;
}

/** Resolved route latency rule. */
export interface ResolvedRouteLatency {
  percentile: number;
  window: number;
  minSamples: number;
}

/** Resolved tail sampling. */
export interface ResolvedTailSampling {
  baseRate: number;
  keepErrors: boolean;
  slowMs: number | undefined;
  routeLatency: ResolvedRouteLatency | undefined;
  priorityUsers: ReadonlySet<string> | undefined;
  /** Tag attribute (`llmscope.tag.<key>`) → accepted values. */
  priorityTags: ReadonlyMap<string, readonly (string | number | boolean)[]> | undefined;
  priorityWhen: ((trace: TraceSummary) => boolean) | undefined;
  maxTraces: number;
  maxSpansPerTrace: number;
  maxAgeMs: number;
}

/** Resolved `sampling`. */
export interface ResolvedSampling {
  head: ResolvedHeadSampling;
  tail: ResolvedTailSampling | undefined;
}

const SAMPLING_KEYS = ['head', 'tail'];
const HEAD_KEYS = ['ratio', 'parentBased'];
const TAIL_KEYS = ['baseRate', 'keepErrors', 'slowMs', 'routeLatency', 'priority', 'maxTraces', 'maxSpansPerTrace', 'maxAgeMs'];
const ROUTE_KEYS = ['percentile', 'window', 'minSamples'];
const PRIORITY_KEYS = ['users', 'tags', 'when'];

/** `OTEL_TRACES_SAMPLER` values llmscope implements (the spec's built-in samplers). */
const ENV_SAMPLERS: Record<string, { parentBased: boolean; ratio: number | 'arg' }> = {
  always_on: { parentBased: false, ratio: 1 },
  always_off: { parentBased: false, ratio: 0 },
  traceidratio: { parentBased: false, ratio: 'arg' },
  parentbased_always_on: { parentBased: true, ratio: 1 },
  parentbased_always_off: { parentBased: true, ratio: 0 },
  parentbased_traceidratio: { parentBased: true, ratio: 'arg' },
};

function fail(message: string): never {
  throw new LlmscopeConfigError(message);
}

function plainObject(name: string, value: unknown, example: string): object {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`option \`${name}\` must be an object such as ${example}.`);
  return value;
}

function checkKeys(where: string, value: object, known: string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || k.startsWith(key) || key.startsWith(k));
    fail(`unknown option \`${where}${key}\`.${near ? ` Did you mean \`${where}${near}\`?` : ''} Known options: ${known.join(', ')}.`);
  }
}

function fraction(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) fail(`option \`${name}\` must be a number between 0 and 1, such as 0.05 for 5% (got ${String(value)}).`);
  return value;
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`option \`${name}\` must be a positive integer (got ${String(value)}).`);
  return value;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(`option \`${name}\` must be true or false (got ${String(value)}).`);
  return value;
}

/** Head sampling from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (OpenTelemetry's rules: unknown sampler → the default, bad ratio → 1). */
function headFromEnv(env: NodeJS.ProcessEnv): ResolvedHeadSampling {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  const known = name === undefined || name === '' ? undefined : ENV_SAMPLERS[name];
  if (name !== undefined && name !== '' && known === undefined) {
    process.emitWarning(`llmscope: OTEL_TRACES_SAMPLER=${name} is not supported (jaeger_remote and xray need their own SDK packages); using parentbased_always_on.`, 'LlmscopeWarning');
  }
  if (known === undefined) return { ratio: 1, parentBased: true };
  if (known.ratio !== 'arg') return { ratio: known.ratio, parentBased: known.parentBased };
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = env.OTEL_TRACES_SAMPLER_ARG !== undefined && env.OTEL_TRACES_SAMPLER_ARG.trim() !== '' && arg >= 0 && arg <= 1 ? arg : 1;
  return { ratio, parentBased: known.parentBased };
}

function resolveHead(value: unknown, env: NodeJS.ProcessEnv): ResolvedHeadSampling {
  const fromEnv = headFromEnv(env);
  if (value === undefined) return fromEnv;
  const h = plainObject('sampling.head', value, '{ ratio: 0.1 }') as HeadSamplingOptions;
  checkKeys('sampling.head.', h, HEAD_KEYS);
  return { ratio: fraction('sampling.head.ratio', h.ratio, fromEnv.ratio), parentBased: bool('sampling.head.parentBased', h.parentBased, fromEnv.parentBased) };
}

function resolveRouteLatency(value: unknown): ResolvedRouteLatency | undefined {
  if (value === false) return undefined;
  const r = (value === undefined || value === true ? {} : plainObject('sampling.tail.routeLatency', value, '{ percentile: 0.95 } or false')) as RouteLatencyOptions;
  checkKeys('sampling.tail.routeLatency.', r, ROUTE_KEYS);
  const percentile = r.percentile ?? 0.95;
  if (typeof percentile !== 'number' || !(percentile >= 0.5 && percentile <= 0.999)) fail(`option \`sampling.tail.routeLatency.percentile\` must be a number between 0.5 and 0.999, such as 0.95 (got ${String(percentile)}).`);
  const window = positiveInt('sampling.tail.routeLatency.window', r.window, 200);
  const minSamples = positiveInt('sampling.tail.routeLatency.minSamples', r.minSamples, Math.min(50, window));
  if (minSamples > window) fail(`option \`sampling.tail.routeLatency.minSamples\` (${minSamples}) cannot exceed \`window\` (${window}).`);
  return { percentile, window, minSamples };
}

function resolvePriority(value: unknown): Pick<ResolvedTailSampling, 'priorityUsers' | 'priorityTags' | 'priorityWhen'> {
  if (value === undefined) return { priorityUsers: undefined, priorityTags: undefined, priorityWhen: undefined };
  const p = plainObject('sampling.tail.priority', value, "{ users: ['alice'], tags: { tier: 'paid' } }") as PriorityRules;
  checkKeys('sampling.tail.priority.', p, PRIORITY_KEYS);
  let users: Set<string> | undefined;
  if (p.users !== undefined) {
    const list = typeof p.users === 'string' || typeof (p.users as Partial<Iterable<string>>)[Symbol.iterator] !== 'function' ? undefined : [...p.users];
    if (list === undefined || !list.every((u) => typeof u === 'string')) fail('option `sampling.tail.priority.users` must be an array or Set of user id strings.');
    users = new Set(list);
  }
  let tags: Map<string, (string | number | boolean)[]> | undefined;
  if (p.tags !== undefined) {
    const t = plainObject('sampling.tail.priority.tags', p.tags, "{ tier: 'paid' }") as Record<string, unknown>;
    tags = new Map();
    for (const [key, v] of Object.entries(t)) {
      const values = Array.isArray(v) ? v : [v];
      if (values.length === 0 || !values.every((x) => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)))) {
        fail(`option \`sampling.tail.priority.tags.${key}\` must be a string, number or boolean, or an array of them.`);
      }
      // Tags land on the request span as `llmscope.tag.<key>` (see tag()).
      tags.set(`llmscope.tag.${key}`, values as (string | number | boolean)[]);
    }
  }
  if (p.when !== undefined && typeof p.when !== 'function') fail('option `sampling.tail.priority.when` must be a function (trace) => boolean.');
  return { priorityUsers: users, priorityTags: tags, priorityWhen: p.when };
}

function resolveTail(value: unknown, env: NodeJS.ProcessEnv): ResolvedTailSampling | undefined {
  if (value === false) return undefined;
  const t = (value === undefined ? {} : plainObject('sampling.tail', value, '{ baseRate: 0.05, slowMs: 2000 } or false')) as TailSamplingOptions;
  checkKeys('sampling.tail.', t, TAIL_KEYS);
  let slowMs: number | undefined;
  if (t.slowMs !== undefined) {
    if (typeof t.slowMs !== 'number' || !(t.slowMs > 0) || !Number.isFinite(t.slowMs)) fail(`option \`sampling.tail.slowMs\` must be a positive number of milliseconds (got ${String(t.slowMs)}).`);
    slowMs = t.slowMs;
  }
  return {
    baseRate: fraction('sampling.tail.baseRate', t.baseRate, env.NODE_ENV === 'production' ? 0.05 : 1),
    keepErrors: bool('sampling.tail.keepErrors', t.keepErrors, true),
    slowMs,
    routeLatency: resolveRouteLatency(t.routeLatency),
    ...resolvePriority(t.priority),
    maxTraces: positiveInt('sampling.tail.maxTraces', t.maxTraces, 10000),
    maxSpansPerTrace: positiveInt('sampling.tail.maxSpansPerTrace', t.maxSpansPerTrace, 1000),
    maxAgeMs: positiveInt('sampling.tail.maxAgeMs', t.maxAgeMs, 60000),
  };
}

/**
 * Validates the `sampling` option and applies defaults and `OTEL_TRACES_SAMPLER*`.
 * `false` means: head sampling from the environment only (OpenTelemetry's default otherwise), no tail sampling.
 */
export function resolveSampling(value: unknown, env: NodeJS.ProcessEnv): ResolvedSampling {
  if (value === false) return { head: headFromEnv(env), tail: undefined };
  const s = (value === undefined ? {} : plainObject('sampling', value, '{ tail: { baseRate: 0.05 } } or false')) as SamplingOptions;
  checkKeys('sampling.', s, SAMPLING_KEYS);
  return { head: resolveHead(s.head, env), tail: resolveTail(s.tail, env) };
}
