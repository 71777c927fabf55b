import type { Registry } from 'prom-client';
import { metricName } from '../../http/prom';
import type { ArmSnapshot, LatencySummary, ScoreSummary } from './arm';
import type { Moments } from './stats';

/** Where a fleet guard reads the replicas' aggregate (`prompts.fleet`) after defaults. */
export interface ResolvedFleet {
  /** Prometheus's base URL, without a trailing slash. */
  readonly prometheusUrl: string;
  /** Label matchers added to every query (`job="rag-api"`), or ''. */
  readonly selector: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** One sample of an instant vector: its labels and its value. */
interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** An answer of the query API that is not a success, or no answer. */
export class PrometheusQueryError extends Error {
  override name = 'PrometheusQueryError';
}

/**
 * Runs one instant query (`GET /api/v1/query`) and returns its vector. Rejects with a
 * {@link PrometheusQueryError} on a network error, a timeout, a non-2xx answer or an answer that
 * is not a vector.
 */
export async function instantQuery(fleet: ResolvedFleet, query: string): Promise<VectorSample[]> {
  const url = `${fleet.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...fleet.headers }, signal: AbortSignal.timeout(fleet.timeoutMs) });
  } catch (error) {
    throw new PrometheusQueryError(`Prometheus query failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = await res.text();
  let body: { status?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new PrometheusQueryError(`Prometheus answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok || body.status !== 'success') throw new PrometheusQueryError(`Prometheus answered ${res.status}: ${typeof body.error === 'string' ? body.error : text.slice(0, 200)}`);
  if (body.data?.resultType !== 'vector' || !Array.isArray(body.data.result)) throw new PrometheusQueryError(`Prometheus answered a ${String(body.data?.resultType)}, not a vector`);
  return (body.data.result as { metric?: Record<string, string>; value?: [number, string] }[]).map((r) => ({ metric: r.metric ?? {}, value: Number(r.value?.[1]) }));
}

/** A latency summary over cumulative histogram buckets (`le` → count), like `histogram_quantile`. */
export function bucketLatency(buckets: ReadonlyMap<number, number>): LatencySummary {
  const edges = [...buckets.keys()].sort((a, b) => a - b);
  const counts = edges.map((le) => buckets.get(le) as number);
  const n = counts.length === 0 ? 0 : (counts[counts.length - 1] as number);
  return {
    n,
    quantile(q) {
      if (!(n > 0)) return NaN;
      const rank = q * n;
      for (let i = 0; i < edges.length; i++) {
        const c = counts[i] as number;
        if (c < rank) continue;
        const upper = edges[i] as number;
        // Past the last finite edge: the highest finite edge (what histogram_quantile answers).
        if (upper === Infinity) return i === 0 ? NaN : (edges[i - 1] as number);
        const lower = i === 0 ? 0 : (edges[i - 1] as number);
        const below = i === 0 ? 0 : (counts[i - 1] as number);
        return c === below ? upper : lower + (upper - lower) * (rank - below) / (c - below);
      }
      return edges[edges.length - 2] ?? NaN;
    },
    above(seconds) {
      // Calls above the first edge at or over `seconds`: never more than the calls above `seconds`.
      for (let i = 0; i < edges.length; i++) {
        if ((edges[i] as number) >= seconds) return Math.max(0, n - (counts[i] as number));
      }
      return 0;
    },
  };
}

function moments(n: number, sum: number, squares: number): Moments {
  if (!(n > 0)) return { n: 0, mean: NaN, variance: 0 };
  const mean = sum / n;
  // Sums of squares minus the squared sum cancel badly for tiny spreads: never below 0.
  const variance = n > 1 ? Math.max(0, (squares - sum * mean) / (n - 1)) : 0;
  return { n, mean, variance };
}

/**
 * Reads the fleet's arms of one guarded prompt from Prometheus: `increase()` over the guard's
 * window of the counters every replica exports ({@link GuardFleetMetrics}), summed over replicas.
 * Ten instant queries, run together, on the guard's timer.
 */
export class PrometheusArmSource {
  constructor(private readonly fleet: ResolvedFleet, private readonly registry: Registry) {}

  private name(metric: string): string {
    return metricName(this.registry, metric);
  }

  /** The arms of `prompt` over the last `windowMs`, by version. */
  async arms(prompt: string, windowMs: number): Promise<Map<string, ArmSnapshot>> {
    const range = `${Math.max(1, Math.round(windowMs / 1000))}s`;
    const matchers = `prompt_name=${JSON.stringify(prompt)}${this.fleet.selector === '' ? '' : `,${this.fleet.selector}`}`;
    const inc = (metric: string, by: string) => `sum by (${by}) (increase(${this.name(metric)}{${matchers}}[${range}]))`;
    const total = (metric: string) => `sum by (prompt_version) (${this.name(metric)}{${matchers}})`;
    const q = (query: string) => instantQuery(this.fleet, query);
    const [calls, buckets, priced, cost, costSquared, scores, scoreValue, scoreSquared, callsTotal, scoresTotal] = await Promise.all([
      q(inc('llmscope_prompt_guard_calls_total', 'prompt_version, outcome')),
      q(inc('llmscope_prompt_guard_call_duration_seconds_bucket', 'prompt_version, le')),
      q(inc('llmscope_prompt_guard_priced_calls_total', 'prompt_version')),
      q(inc('llmscope_prompt_guard_cost_usd_total', 'prompt_version')),
      q(inc('llmscope_prompt_guard_cost_usd_squared_total', 'prompt_version')),
      q(inc('llmscope_prompt_guard_scores_total', 'prompt_version, score, kind')),
      q(inc('llmscope_prompt_guard_score_value_total', 'prompt_version, score, kind')),
      q(inc('llmscope_prompt_guard_score_squared_total', 'prompt_version, score, kind')),
      q(total('llmscope_prompt_guard_calls_total')),
      q(total('llmscope_prompt_guard_scores_total')),
    ]);
    const versions = new Set<string>();
    for (const s of [...calls, ...scores]) if (s.metric.prompt_version !== undefined) versions.add(s.metric.prompt_version);
    const byVersion = (samples: VectorSample[], version: string, where: (m: Record<string, string>) => boolean = () => true): number => {
      let sum = 0;
      for (const s of samples) if (s.metric.prompt_version === version && where(s.metric) && Number.isFinite(s.value)) sum += s.value;
      return sum;
    };
    const out = new Map<string, ArmSnapshot>();
    for (const version of versions) {
      const le = new Map<number, number>();
      for (const s of buckets) {
        if (s.metric.prompt_version !== version || s.metric.le === undefined) continue;
        le.set(s.metric.le === '+Inf' ? Infinity : Number(s.metric.le), s.value);
      }
      const summaries = new Map<string, ScoreSummary>();
      const names = new Set(scores.filter((s) => s.metric.prompt_version === version && s.metric.score !== undefined).map((s) => s.metric.score as string));
      for (const score of names) {
        const of = (m: Record<string, string>) => m.score === score;
        const n = byVersion(scores, version, of);
        if (!(n > 0)) continue;
        const numeric = byVersion(scores, version, (m) => of(m) && m.kind === 'numeric');
        const value = byVersion(scoreValue, version, of);
        summaries.set(score, { kind: numeric > 0 ? 'numeric' : 'boolean', moments: moments(n, value, byVersion(scoreSquared, version, of)), successes: Math.round(value) });
      }
      const errors = byVersion(calls, version, (m) => m.outcome === 'error');
      out.set(version, {
        version,
        // increase() extrapolates to the window's edges: counts are rounded for the tests on counts.
        calls: Math.round(byVersion(calls, version)),
        errors: Math.round(errors),
        latency: bucketLatency(le),
        cost: moments(byVersion(priced, version), byVersion(cost, version), byVersion(costSquared, version)),
        scores: summaries,
        token: byVersion(callsTotal, version) + byVersion(scoresTotal, version),
      });
    }
    return out;
  }
}
