import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SamplingReason } from './metrics';
import type { ResolvedTailSampling, TraceSummary } from './options';
import { RouteLatency } from './route-latency';
import { LeanSpan } from '../tracing/lean-span';

const TWO_POW_52 = 2 ** 52;

/** The value of each ASCII hex digit by char code, -1 for the other ASCII codes. */
const HEX_VALUES = ((): Int8Array => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) table[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[97 + i] = 10 + i;
    table[65 + i] = 10 + i;
  }
  return table;
})();

/**
 * The `digits` hex digits of `text` ending at `end`, as an integer (at most 7 digits, so it stays a
 * small integer), or -1 if one of them is not a hex digit. Trace ids are read this way by the tail
 * sampler: no substring, no `parseInt`, per trace; a table read per digit (branches per digit
 * cost twice as much: ~80 against ~40 ns a trace id).
 */
export function hexBits(text: string, end: number, digits: number): number {
  let v = 0;
  for (let i = end - digits; i < end; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? (HEX_VALUES[c] as number) : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * A number in [0, 1) from the trace id's last 13 hex digits (52 random bits in W3C trace ids).
 * Deriving the base-rate decision from the trace id rather than Math.random() means that every
 * service running llmscope with the same base rate keeps the same traces: their parts join up.
 * Equal to `parseInt(last 13 digits, 16) / 2^52` for the hex ids OpenTelemetry makes (0 for
 * digits that are not hex, where `parseInt` read a prefix).
 */
export function traceIdFraction(traceId: string): number {
  const end = traceId.length;
  if (end < 13) {
    const n = Number.parseInt(traceId, 16);
    return Number.isFinite(n) ? n / TWO_POW_52 : 0;
  }
  // 6 + 7 digits: two small integers.
  const high = hexBits(traceId, end - 7, 6);
  const low = hexBits(traceId, end, 7);
  return high < 0 || low < 0 ? 0 : (high * 2 ** 28 + low) / TWO_POW_52;
}

function durationMs(span: ReadableSpan): number {
  // A lean span has it as a number (its HrTimes are built only when read).
  if (span instanceof LeanSpan) return span.durationMs;
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}

/**
 * The tail sampler's rules, in the order their reason is reported: error, slow (absolute),
 * route_latency (rolling percentile of the route), priority (users, tags, predicate), base_rate.
 */
export class TailRules {
  private readonly routes: RouteLatency | undefined;

  constructor(private readonly config: ResolvedTailSampling) {
    this.routes = config.routeLatency === undefined ? undefined : new RouteLatency(config.routeLatency);
  }

  /** The route latency tracker (for tests and docs: its current thresholds). */
  get routeLatency(): RouteLatency | undefined {
    return this.routes;
  }

  /**
   * Decides a trace. `root` is undefined when the trace is decided early (buffer full, too old,
   * shutdown): then only the rules that do not need the root apply (errors, users on the spans
   * held, base rate). `knownError`: an error was seen in a span no longer held (over the
   * per-trace limit). Returns the reason it is kept, or `sampled_out`.
   */
  decide(traceId: string, root: ReadableSpan | undefined, spans: readonly ReadableSpan[], knownError: boolean): SamplingReason {
    const c = this.config;
    let error = knownError;
    for (let i = 0; !error && i < spans.length; i++) {
      if ((spans[i] as ReadableSpan).status.code === SpanStatusCode.ERROR) {
        error = true;
        break;
      }
    }
    let route = '';
    let ms = 0;
    let slowForRoute = false;
    if (root !== undefined) {
      ms = durationMs(root);
      const r = root.attributes['http.route'];
      route = typeof r === 'string' ? r : root.name;
      // Every finished trace feeds its route's window, kept or not, so the percentile is the route's.
      if (this.routes !== undefined) slowForRoute = this.routes.observe(route, ms);
    }
    if (error && c.keepErrors) return 'error';
    if (root !== undefined && c.slowMs !== undefined && ms >= c.slowMs) return 'slow';
    if (slowForRoute) return 'route_latency';
    if (this.priority(root, spans, route, ms, error)) return 'priority';
    if (c.baseRate >= 1 || (c.baseRate > 0 && traceIdFraction(traceId) < c.baseRate)) return 'base_rate';
    return 'sampled_out';
  }

  private priority(root: ReadableSpan | undefined, spans: readonly ReadableSpan[], route: string, ms: number, error: boolean): boolean {
    const c = this.config;
    const users = c.priorityUsers;
    if (users !== undefined) {
      // The request span carries user.id when the request ends; LLM spans carry it too.
      for (let i = 0; i < spans.length; i++) {
        const u = (spans[i] as ReadableSpan).attributes['user.id'];
        if (typeof u === 'string' && users.has(u)) return true;
      }
    }
    if (root === undefined) return false;
    const tags = c.priorityTags;
    if (tags !== undefined) {
      for (const [attribute, values] of tags) {
        const v = root.attributes[attribute];
        if (v !== undefined && values.includes(v as string | number | boolean)) return true;
      }
    }
    if (c.priorityWhen !== undefined) {
      const summary: TraceSummary = { root, spans, route, durationMs: ms, error };
      try {
        return c.priorityWhen(summary) === true;
      } catch {
        // A throwing predicate must not break sampling, nor the request that ended the trace.
        return false;
      }
    }
    return false;
  }
}
