import type { Histogram, Registry } from 'prom-client';

/**
 * Exemplars (the trace id of one observation per bucket) for llmscope's duration histograms,
 * kept beside the histogram rather than by prom-client's `enableExemplars`:
 * - prom-client's switch turns `observe` into `observe({ labels, value, exemplarLabels })` for
 *   every caller of the histogram (an app sharing the registry would break), and the children of
 *   `labels()` that llmscope caches cannot carry an exemplar at all;
 * - its exemplar path hashes the label set, validates the exemplar and allocates per observation,
 *   where a slot written in place costs a bucket search and three stores (docs/metrics.md has the figure).
 * They are rendered only in the OpenMetrics exposition (metrics-endpoint.ts), the one format with exemplars.
 */

/** The latest exemplar of one bucket, overwritten in place. */
interface Slot {
  traceId: string;
  value: number;
  /** When the observation ended, milliseconds since the epoch. */
  at: number;
}

/** Series tracked per histogram before the map starts over (the label caps bound it long before). */
const MAX_SERIES = 10_000;

/** The exemplar slots of one series: one per bucket, the last one `+Inf`. */
export class SeriesExemplars {
  private readonly slots: Array<Slot | undefined>;

  constructor(private readonly bounds: readonly number[]) {
    this.slots = new Array<Slot | undefined>(bounds.length + 1).fill(undefined);
  }

  /**
   * Records `traceId` as the exemplar of the bucket `value` falls in; `at` is when the observation
   * ended (epoch ms), which the caller already knows: no clock read here.
   */
  record(value: number, traceId: string, at: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    const slot = this.slots[i];
    if (slot === undefined) {
      this.slots[i] = { traceId, value, at };
      return;
    }
    slot.traceId = traceId;
    slot.value = value;
    slot.at = at;
  }

  /** The exemplar of bucket `index` (`bounds.length`: `+Inf`). */
  get(index: number): Slot | undefined {
    return this.slots[index];
  }
}

/** The exemplars of one histogram, by series. */
export class HistogramExemplars {
  private readonly series = new Map<string, SeriesExemplars>();

  constructor(private readonly labelNames: readonly string[], private readonly bounds: readonly number[]) {}

  /** The slots of the series with `labels` (called once per series, when its children are cached). */
  forSeries(labels: Record<string, string>): SeriesExemplars {
    const key = this.key(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= MAX_SERIES) this.series.clear();
      s = new SeriesExemplars(this.bounds);
      this.series.set(key, s);
    }
    return s;
  }

  private key(labels: Partial<Record<string, string | number>>): string {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name] ?? ''}\u0000`;
    return key;
  }

  /**
   * The histogram's values (from `get()`) with each bucket sample's exemplar attached, in the
   * shape prom-client's OpenMetrics rendering reads (`exemplar: { labelSet, value, timestamp }`).
   */
  attach<V extends { labels: Partial<Record<string, string | number>>; metricName?: string }>(values: V[]): V[] {
    return values.map((v) => {
      if (v.metricName === undefined || !v.metricName.endsWith('_bucket')) return v;
      const le = v.labels.le;
      const index = le === '+Inf' ? this.bounds.length : this.bounds.indexOf(Number(le));
      if (index < 0) return v;
      const slot = this.series.get(this.key(v.labels))?.get(index);
      if (slot === undefined) return v;
      return { ...v, exemplar: { labelSet: { trace_id: slot.traceId }, value: slot.value, timestamp: slot.at / 1000 } };
    });
  }
}

const byHistogram = new WeakMap<object, HistogramExemplars>();
const enabled = new WeakMap<Registry, boolean>();

/** Sets whether llmscope's histograms in `registry` keep exemplars (option `metrics.exemplars`). */
export function setExemplars(registry: Registry, on: boolean): void {
  enabled.set(registry, on);
}

/**
 * The exemplar store of `histogram` (shared by every llmscope instance that shares it), or
 * undefined when exemplars are off for `registry`.
 */
export function exemplarsFor(registry: Registry, histogram: Histogram<string>, labelNames: readonly string[], bounds: readonly number[]): HistogramExemplars | undefined {
  if (enabled.get(registry) !== true) return undefined;
  let store = byHistogram.get(histogram);
  if (store === undefined) {
    store = new HistogramExemplars(labelNames, bounds);
    byHistogram.set(histogram, store);
  }
  return store;
}

/** The exemplar store of a registered metric, if it keeps exemplars (read when rendering OpenMetrics). */
export function exemplarsOf(metric: object): HistogramExemplars | undefined {
  return byHistogram.get(metric);
}
