import type { Counter, Histogram } from 'prom-client';
import type { SeriesChildren } from './routes';

/**
 * Label children of llmscope's per-request metrics that skip prom-client's per-call work. A
 * child from prom-client's `labels()` hashes its label set into a string key, validates the
 * label names and (histograms) allocates a label/value pair and a closure on every call: ~0.45 µs
 * per `observe` and ~0.3 µs per `inc` on the bench machine, most of what recording a request
 * costs (docs/performance.md). These children find the series' value object in the metric's
 * store once, through the official child's first call, then update it in place: a property
 * read, a bucket search and three additions per request. prom-client still owns the values,
 * their exposition, `reset()` and `get()`.
 *
 * The store layout (`hashMap` of `{ labels, bucketValues, sum, count }` / `{ labels, value }`) is
 * prom-client's own, not its API: the layout is checked when the series is first resolved, and
 * anything else (another major, a reset registry) falls back to the official child on that call.
 */

/** A histogram series as prom-client 15 stores it. */
interface HistogramValues {
  labels: object;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** A counter series as prom-client 15 stores it. */
interface CounterValues {
  labels: object;
  value: number;
}

type Store<V> = { hashMap?: Record<string, V | undefined>; upperBounds?: unknown };

/** The key under which `store` keeps the series whose labels are `labels` (identity or equal values), if any. */
function keyOf<V extends { labels: object }>(store: Record<string, V | undefined>, labels: Record<string, string>): string | undefined {
  for (const key in store) {
    const candidate = store[key]?.labels as Record<string, unknown> | undefined;
    if (candidate === labels) return key;
    if (candidate === undefined) continue;
    let same = true;
    for (const name in labels) {
      if (candidate[name] !== labels[name]) {
        same = false;
        break;
      }
    }
    if (same && Object.keys(candidate).length === Object.keys(labels).length) return key;
  }
  return undefined;
}

function isHistogramValues(v: unknown): v is HistogramValues {
  const h = v as HistogramValues | undefined;
  return h !== undefined && typeof h.sum === 'number' && typeof h.count === 'number' && typeof h.bucketValues === 'object' && h.bucketValues !== null;
}

function isCounterValues(v: unknown): v is CounterValues {
  return v !== undefined && typeof (v as CounterValues).value === 'number';
}

/** A histogram series's child: `observe(value)` in place once the series exists (durations, token counts). */
class HistogramChild {
  private key: string | undefined = undefined;
  private values: HistogramValues | undefined = undefined;
  private readonly official: { observe(value: number): void };
  /** The histogram's bucket bounds (its own `upperBounds`), ascending; empty: always the official child. */
  private bounds: readonly number[];
  /** The buckets' keys in prom-client's `bucketValues` (its bounds as property names), in order. */
  private bucketKeys: string[];

  constructor(private readonly histogram: Histogram<string>, private readonly labels: Record<string, string>) {
    this.official = histogram.labels(labels);
    const bounds = (histogram as unknown as Store<HistogramValues>).upperBounds;
    this.bounds = Array.isArray(bounds) && bounds.every((b) => typeof b === 'number') ? (bounds as number[]) : [];
    this.bucketKeys = this.bounds.map(String);
  }

  observe(value: number): void {
    if (this.bounds.length === 0) {
      this.official.observe(value);
      return;
    }
    const store = (this.histogram as unknown as Store<HistogramValues>).hashMap;
    const values = this.values;
    // The same object as when resolved: the registry was not reset since.
    if (values !== undefined && store !== undefined && store[this.key as string] === values && Number.isFinite(value)) {
      values.sum += value;
      values.count += 1;
      const bounds = this.bounds;
      for (let i = 0; i < bounds.length; i++) {
        if (value <= (bounds[i] as number)) {
          values.bucketValues[this.bucketKeys[i] as string] += 1;
          break;
        }
      }
      return;
    }
    this.official.observe(value);
    if (!this.resolve(store)) this.bounds = [];
  }

  /** Finds the series' value object after the official child created it; false when the layout is not prom-client 15's. */
  private resolve(store: Record<string, HistogramValues | undefined> | undefined): boolean {
    this.values = undefined;
    if (store === undefined) return false;
    const key = keyOf(store, this.labels);
    const values = key === undefined ? undefined : store[key];
    if (key === undefined || !isHistogramValues(values) || !this.bucketKeys.every((k) => typeof values.bucketValues[k] === 'number')) return false;
    this.key = key;
    this.values = values;
    return true;
  }
}

/** A counter series's child: `inc(n)` in place once the series exists. */
class CounterChild {
  private key: string | undefined = undefined;
  private values: CounterValues | undefined = undefined;
  private readonly official: { inc(value?: number): void };
  /** Set when the store's layout is not prom-client 15's: the official child only. */
  private officialOnly = false;

  constructor(private readonly counter: Counter<string>, private readonly labels: Record<string, string>) {
    this.official = counter.labels(labels);
  }

  inc(value = 1): void {
    const store = (this.counter as unknown as Store<CounterValues>).hashMap;
    const values = this.values;
    // A negative or non-finite value goes to the official child, which rejects it as before.
    if (values !== undefined && store !== undefined && store[this.key as string] === values && value >= 0 && value !== Infinity) {
      values.value += value;
      return;
    }
    this.official.inc(value);
    if (this.officialOnly) return;
    this.values = undefined;
    const key = store === undefined ? undefined : keyOf(store, this.labels);
    const found = key === undefined ? undefined : (store as Record<string, CounterValues | undefined>)[key];
    if (key !== undefined && isCounterValues(found)) {
      this.key = key;
      this.values = found;
    } else {
      this.officialOnly = true;
    }
  }
}

/** A histogram series' child that observes in place (see above). */
export interface InPlaceHistogram {
  observe(value: number): void;
}

/** A counter series' child that counts in place (see above). */
export interface InPlaceCounter {
  inc(value?: number): void;
}

/** The child of `histogram`'s series `labels` (every label named), updated in place. */
export function histogramChild(histogram: Histogram<string>, labels: Record<string, string>): InPlaceHistogram {
  return new HistogramChild(histogram, labels);
}

/** The child of `counter`'s series `labels` (every label named), updated in place. */
export function counterChild(counter: Counter<string>, labels: Record<string, string>): InPlaceCounter {
  return new CounterChild(counter, labels);
}

/**
 * The children of one (route, method, status[, tags]) series of the HTTP duration histogram and
 * request counter, updated in place (see above).
 */
export function seriesChildren(duration: Histogram<string>, requests: Counter<string>, labels: Record<string, string>): SeriesChildren {
  return { duration: new HistogramChild(duration, labels), count: new CounterChild(requests, labels) };
}
