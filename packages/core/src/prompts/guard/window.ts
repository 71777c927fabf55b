import type { Moments } from './stats';

/**
 * A rolling window of samples, bounded both by count (`maxSamples`: the oldest is overwritten)
 * and by age (`maxAgeMs`: older samples are dropped when the window is read or written). Each
 * sample is a timestamp and a fixed number of numeric columns, kept in preallocated typed arrays:
 * appending allocates nothing, and memory is `maxSamples × (columns + 1) × 8` bytes at most.
 */
export class RollingWindow {
  private readonly times: Float64Array;
  private readonly columns: Float64Array[];
  private head = 0;
  private length = 0;

  constructor(columns: number, readonly maxSamples: number, readonly maxAgeMs: number) {
    this.times = new Float64Array(maxSamples);
    this.columns = Array.from({ length: columns }, () => new Float64Array(maxSamples));
  }

  /** Appends one sample (`values` in column order) at `nowMs`. */
  push(nowMs: number, a: number, b = 0, c = 0): void {
    const cap = this.maxSamples;
    const at = (this.head + this.length) % cap;
    this.times[at] = nowMs;
    const cols = this.columns;
    if (cols[0] !== undefined) cols[0][at] = a;
    if (cols[1] !== undefined) cols[1][at] = b;
    if (cols[2] !== undefined) cols[2][at] = c;
    if (this.length < cap) this.length++;
    else this.head = (this.head + 1) % cap;
  }

  /** Drops the samples older than `maxAgeMs` before `nowMs`. */
  prune(nowMs: number): void {
    const oldest = nowMs - this.maxAgeMs;
    while (this.length > 0 && (this.times[this.head] as number) < oldest) {
      this.head = (this.head + 1) % this.maxSamples;
      this.length--;
    }
  }

  /** Samples in the window (call {@link prune} first for an age-exact count). */
  get size(): number {
    return this.length;
  }

  /** Timestamp of the oldest sample kept, or undefined when empty. */
  get oldestMs(): number | undefined {
    return this.length === 0 ? undefined : this.times[this.head];
  }

  /** Empties the window (a new rollout step compares fresh samples only). */
  clear(): void {
    this.head = 0;
    this.length = 0;
  }

  /** Calls `fn` with column `column` of every sample, oldest first. */
  forEach(column: number, fn: (value: number, index: number) => void): void {
    const col = this.columns[column];
    if (col === undefined) return;
    const cap = this.maxSamples;
    for (let i = 0; i < this.length; i++) fn(col[(this.head + i) % cap] as number, i);
  }

  /**
   * Count, mean and sample variance of column `column`, skipping NaN (a value not known, such as
   * the cost of an unpriced call), with Welford's update (stable for small spreads).
   */
  moments(column: number, where?: (index: number) => boolean): Moments {
    let n = 0;
    let mean = 0;
    let m2 = 0;
    this.forEach(column, (x, i) => {
      if (Number.isNaN(x) || (where !== undefined && !where(i))) return;
      n++;
      const d = x - mean;
      mean += d / n;
      m2 += d * (x - mean);
    });
    return { n, mean: n === 0 ? NaN : mean, variance: n > 1 ? m2 / (n - 1) : 0 };
  }

  /** The values of column `column` (NaN skipped, and those `where` refuses), as a new array. */
  values(column: number, where?: (index: number) => boolean): Float64Array {
    const out = new Float64Array(this.length);
    let k = 0;
    this.forEach(column, (x, i) => {
      if (Number.isNaN(x) || (where !== undefined && !where(i))) return;
      out[k++] = x;
    });
    return out.subarray(0, k);
  }

  /** The raw value of column `column` at position `index` (0 = oldest). */
  at(column: number, index: number): number {
    const col = this.columns[column];
    return col === undefined ? NaN : (col[(this.head + index) % this.maxSamples] as number);
  }
}
