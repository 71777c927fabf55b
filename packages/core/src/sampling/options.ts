import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { boolean, check, entry, func, invalid, numberInRange, object, positiveInt, positiveNumber, ratio, record, section } from '../config/validate';

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

const SAMPLING_KEYS = ['head', 'tail'] as const;
const HEAD_KEYS = ['ratio', 'parentBased'] as const;
const TAIL_KEYS = ['baseRate', 'keepErrors', 'slowMs', 'routeLatency', 'priority', 'maxTraces', 'maxSpansPerTrace', 'maxAgeMs'] as const;
const ROUTE_KEYS = ['percentile', 'window', 'minSamples'] as const;
const PRIORITY_KEYS = ['users', 'tags', 'when'] as const;

/** `OTEL_TRACES_SAMPLER` values llmscope implements (the spec's built-in samplers). */
const ENV_SAMPLERS: Record<string, { parentBased: boolean; ratio: number | 'arg' }> = {
  always_on: { parentBased: false, ratio: 1 },
  always_off: { parentBased: false, ratio: 0 },
  traceidratio: { parentBased: false, ratio: 'arg' },
  parentbased_always_on: { parentBased: true, ratio: 1 },
  parentbased_always_off: { parentBased: true, ratio: 0 },
  parentbased_traceidratio: { parentBased: true, ratio: 'arg' },
};

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
  const h = object('sampling.head', value, HEAD_KEYS, 'an object such as { ratio: 0.1 }') ?? {};
  return {
    ratio: ratio('sampling.head.ratio', h.ratio) ?? fromEnv.ratio,
    parentBased: boolean('sampling.head.parentBased', h.parentBased) ?? fromEnv.parentBased,
  };
}

function resolveRouteLatency(value: unknown): ResolvedRouteLatency | undefined {
  if (value === false) return undefined;
  const r = object('sampling.tail.routeLatency', value === true ? {} : value, ROUTE_KEYS, 'an object such as { percentile: 0.95 }, true or false') ?? {};
  const percentile = numberInRange('sampling.tail.routeLatency.percentile', r.percentile ?? undefined, 0.5, 0.999, 'a number between 0.5 and 0.999, such as 0.95') ?? 0.95;
  const window = positiveInt('sampling.tail.routeLatency.window', r.window) ?? 200;
  const minSamples = positiveInt('sampling.tail.routeLatency.minSamples', r.minSamples) ?? Math.min(50, window);
  if (minSamples > window) invalid('sampling.tail.routeLatency.minSamples', `at most \`sampling.tail.routeLatency.window\` (${window})`, minSamples);
  return { percentile, window, minSamples };
}

function isUserList(value: unknown): value is Iterable<string> {
  if (typeof value === 'string' || value === null || typeof value !== 'object' || typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') return false;
  return [...(value as Iterable<unknown>)].every((u) => typeof u === 'string');
}

type TagValue = string | number | boolean;

function isTagValue(value: unknown): value is TagValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function isTagValues(value: unknown): value is TagValue | TagValue[] {
  return Array.isArray(value) ? value.length > 0 && value.every(isTagValue) : isTagValue(value);
}

function resolvePriority(value: unknown): Pick<ResolvedTailSampling, 'priorityUsers' | 'priorityTags' | 'priorityWhen'> {
  const p = object('sampling.tail.priority', value, PRIORITY_KEYS, "an object such as { users: ['alice'], tags: { tier: 'paid' } }");
  if (p === undefined) return { priorityUsers: undefined, priorityTags: undefined, priorityWhen: undefined };
  const users = check('sampling.tail.priority.users', p.users, isUserList, 'an array or Set of user id strings');
  let tags: Map<string, TagValue[]> | undefined;
  const t = record('sampling.tail.priority.tags', p.tags, "an object such as { tier: 'paid' }");
  if (t !== undefined) {
    tags = new Map();
    for (const [key, v] of Object.entries(t)) {
      const values = check(entry('sampling.tail.priority.tags', key), v, isTagValues, 'a string, number or boolean, or a non-empty array of them') ?? [];
      // Tags land on the request span as `llmscope.tag.<key>` (see tag()).
      tags.set(`llmscope.tag.${key}`, Array.isArray(values) ? values : [values]);
    }
  }
  return {
    priorityUsers: users === undefined ? undefined : new Set(users),
    priorityTags: tags,
    priorityWhen: func<(trace: TraceSummary) => boolean>('sampling.tail.priority.when', p.when, '(trace) => boolean'),
  };
}

function resolveTail(value: unknown, env: NodeJS.ProcessEnv): ResolvedTailSampling | undefined {
  const t = section('sampling.tail', value, TAIL_KEYS, 'an object such as { baseRate: 0.05, slowMs: 2000 } or false');
  if (t === undefined) return undefined;
  return {
    baseRate: ratio('sampling.tail.baseRate', t.baseRate) ?? (env.NODE_ENV === 'production' ? 0.05 : 1),
    keepErrors: boolean('sampling.tail.keepErrors', t.keepErrors) ?? true,
    slowMs: positiveNumber('sampling.tail.slowMs', t.slowMs, 'a positive number of milliseconds'),
    routeLatency: resolveRouteLatency(t.routeLatency),
    ...resolvePriority(t.priority),
    maxTraces: positiveInt('sampling.tail.maxTraces', t.maxTraces) ?? 10000,
    maxSpansPerTrace: positiveInt('sampling.tail.maxSpansPerTrace', t.maxSpansPerTrace) ?? 1000,
    maxAgeMs: positiveInt('sampling.tail.maxAgeMs', t.maxAgeMs) ?? 60000,
  };
}

/**
 * Validates the `sampling` option and applies defaults and `OTEL_TRACES_SAMPLER*`.
 * `false` means: head sampling from the environment only (OpenTelemetry's default otherwise), no tail sampling.
 */
export function resolveSampling(value: unknown, env: NodeJS.ProcessEnv): ResolvedSampling {
  if (value === false) return { head: headFromEnv(env), tail: undefined };
  const s = object('sampling', value, SAMPLING_KEYS, '{ tail: { baseRate: 0.05 } } or false') ?? {};
  return { head: resolveHead(s.head, env), tail: resolveTail(s.tail, env) };
}
