/** Aggregates computed when the API is asked (never per request): cost by dimension, sessions, prompt versions. */
import type { CallView, RequestView, ScoreView } from './views';

/** Dimensions the cost page groups by. */
export const DIMENSIONS = ['user', 'session', 'feature', 'model', 'promptVersion'] as const;
/** One of {@link DIMENSIONS}. */
export type Dimension = (typeof DIMENSIONS)[number];

/** Cost and tokens of one key of a dimension. */
export interface CostRow {
  key: string;
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Cost per time bucket, oldest first (the chart). */
  series: number[];
  /** Tokens (input and output) per time bucket, oldest first. */
  tokenSeries: number[];
}

const NONE = '(none)';

function keyOf(c: CallView, by: Dimension): string {
  switch (by) {
    case 'user': return c.userId ?? NONE;
    case 'session': return c.sessionId ?? NONE;
    case 'feature': return c.feature ?? NONE;
    case 'model': return c.model;
    case 'promptVersion': return c.promptName === undefined ? NONE : `${c.promptName}@${c.promptVersion ?? '?'}`;
  }
}

/** Cost and tokens by `by` over the calls given, most expensive first, with `buckets` time buckets over the window. */
export function costBy(calls: readonly CallView[], by: Dimension, windowMs: number, buckets: number, now: number): CostRow[] {
  const rows = new Map<string, CostRow>();
  const from = now - windowMs;
  const width = windowMs / buckets;
  for (const c of calls) {
    const key = keyOf(c, by);
    let row = rows.get(key);
    if (row === undefined) {
      row = { key, calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, series: new Array<number>(buckets).fill(0), tokenSeries: new Array<number>(buckets).fill(0) };
      rows.set(key, row);
    }
    const cost = c.costUsd ?? 0;
    row.calls++;
    if (c.outcome === 'error') row.errors++;
    row.inputTokens += c.inputTokens ?? 0;
    row.outputTokens += c.outputTokens ?? 0;
    row.costUsd += cost;
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((c.startTimeMs - from) / width)));
    row.series[b] = (row.series[b] as number) + cost;
    row.tokenSeries[b] = (row.tokenSeries[b] as number) + (c.inputTokens ?? 0) + (c.outputTokens ?? 0);
  }
  return [...rows.values()].sort((a, b) => b.costUsd - a.costUsd || b.calls - a.calls);
}

/** All the rows added up (the chart's total, whatever `limit` kept of the rows). */
export function totalOf(rows: readonly CostRow[], buckets: number): CostRow {
  const total: CostRow = { key: '(all)', calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, series: new Array<number>(buckets).fill(0), tokenSeries: new Array<number>(buckets).fill(0) };
  for (const r of rows) {
    total.calls += r.calls;
    total.errors += r.errors;
    total.inputTokens += r.inputTokens;
    total.outputTokens += r.outputTokens;
    total.costUsd += r.costUsd;
    for (let i = 0; i < buckets; i++) {
      total.series[i] = (total.series[i] as number) + (r.series[i] as number);
      total.tokenSeries[i] = (total.tokenSeries[i] as number) + (r.tokenSeries[i] as number);
    }
  }
  return total;
}

/** The `q`-quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** One prompt version (or experiment arm) over the window. */
export interface PromptRow {
  prompt: string;
  version: string;
  experiment: string | undefined;
  calls: number;
  errorRate: number;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  costPerCallUsd: number;
  /** Mean of the numeric and boolean scores given to its calls' traces, by score name. */
  scores: Record<string, { mean: number; count: number }>;
}

/** Calls, latency, errors, cost and scores per prompt version. */
export function promptVersions(calls: readonly CallView[], scoresOf: (traceId: string) => readonly ScoreView[]): PromptRow[] {
  const groups = new Map<string, { row: PromptRow; ms: number[]; cost: number; errors: number; traces: Set<string> }>();
  for (const c of calls) {
    if (c.promptName === undefined) continue;
    const version = c.promptVersion ?? '?';
    const id = `${c.promptName}\u0000${version}\u0000${c.promptExperiment ?? ''}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = { row: { prompt: c.promptName, version, experiment: c.promptExperiment, calls: 0, errorRate: 0, p50Ms: undefined, p95Ms: undefined, costPerCallUsd: 0, scores: {} }, ms: [], cost: 0, errors: 0, traces: new Set() };
      groups.set(id, g);
    }
    g.row.calls++;
    g.ms.push(c.durationMs);
    g.cost += c.costUsd ?? 0;
    if (c.outcome === 'error') g.errors++;
    if (c.traceId !== undefined) g.traces.add(c.traceId);
  }
  const out: PromptRow[] = [];
  for (const g of groups.values()) {
    g.ms.sort((a, b) => a - b);
    g.row.p50Ms = quantile(g.ms, 0.5);
    g.row.p95Ms = quantile(g.ms, 0.95);
    g.row.errorRate = g.errors / g.row.calls;
    g.row.costPerCallUsd = g.cost / g.row.calls;
    const sums: Record<string, { mean: number; count: number }> = {};
    for (const t of g.traces) {
      for (const s of scoresOf(t)) {
        if (s.promptVersion !== undefined && s.promptVersion !== g.row.version) continue;
        const v = typeof s.value === 'boolean' ? (s.value ? 1 : 0) : typeof s.value === 'number' ? s.value : undefined;
        if (v === undefined) continue;
        const agg = (sums[s.name] ??= { mean: 0, count: 0 });
        agg.mean += v;
        agg.count++;
      }
    }
    for (const name in sums) {
      const agg = sums[name] as { mean: number; count: number };
      agg.mean /= agg.count;
    }
    g.row.scores = sums;
    out.push(g.row);
  }
  return out.sort((a, b) => a.prompt.localeCompare(b.prompt) || a.version.localeCompare(b.version));
}

/** One session over the requests held. */
export interface SessionRow {
  sessionId: string;
  userId: string | undefined;
  requests: number;
  llmCalls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  errors: number;
  firstMs: number;
  lastMs: number;
}

/** Sessions of the requests held, most recent first. */
export function sessions(requests: readonly RequestView[]): SessionRow[] {
  const rows = new Map<string, SessionRow>();
  for (const r of requests) {
    if (r.sessionId === undefined) continue;
    let row = rows.get(r.sessionId);
    if (row === undefined) {
      row = { sessionId: r.sessionId, userId: r.userId, requests: 0, llmCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, errors: 0, firstMs: r.startTimeMs, lastMs: r.startTimeMs };
      rows.set(r.sessionId, row);
    }
    row.requests++;
    row.llmCalls += r.llmCalls;
    row.inputTokens += r.inputTokens;
    row.outputTokens += r.outputTokens;
    row.costUsd += r.costUsd;
    if (r.status >= 500 || r.error !== undefined) row.errors++;
    row.firstMs = Math.min(row.firstMs, r.startTimeMs);
    row.lastMs = Math.max(row.lastMs, r.startTimeMs);
    row.userId ??= r.userId;
  }
  return [...rows.values()].sort((a, b) => b.lastMs - a.lastMs);
}

/** Latency percentiles of one route or model. */
export interface LatencyRow {
  key: string;
  count: number;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
}

/** Percentiles of `ms` grouped by `key`. */
export function latency<T>(items: readonly T[], key: (t: T) => string, ms: (t: T) => number): LatencyRow[] {
  const groups = new Map<string, number[]>();
  for (const t of items) {
    const k = key(t);
    let list = groups.get(k);
    if (list === undefined) groups.set(k, (list = []));
    list.push(ms(t));
  }
  const out: LatencyRow[] = [];
  for (const [k, list] of groups) {
    list.sort((a, b) => a - b);
    out.push({ key: k, count: list.length, p50Ms: quantile(list, 0.5), p95Ms: quantile(list, 0.95), p99Ms: quantile(list, 0.99) });
  }
  return out.sort((a, b) => b.count - a.count);
}
