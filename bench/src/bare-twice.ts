/**
 * `--bare-twice`: each block measures its bare server twice a round, in two fresh processes half
 * a block apart, and the round's bare reading is the two together. One bare process that reads
 * fast or slow for its whole life then moves the round's ratios by half as much, and drift within
 * the block hits the bare reading from both ends (docs/performance.md, "Five rounds of five seconds").
 */
import type { Measurement } from './measure';

/**
 * The order to measure a block of `n` configurations in, as indices into the block: the block's
 * own order, with `bare` once more half a block (`⌈n/2⌉` places) after its first place, or
 * before it when that would fall past the end.
 */
export function bareTwiceOrder(n: number, bare: number): number[] {
  if (!Number.isInteger(bare) || bare < 0 || bare >= n) throw new Error(`bare index ${bare} is not in a block of ${n}`);
  const order = Array.from({ length: n }, (_, i) => i);
  const half = Math.ceil(n / 2);
  // After: `half` places on. Before: inserted at `bare - half + 1` (≥ 1 whenever `bare + half > n`),
  // which moves the first reading one place on, so the two are `half` apart again.
  const at = bare + half <= n ? bare + half : bare - half + 1;
  order.splice(at, 0, bare);
  return order;
}

/**
 * One reading from two of the same server's (equal windows): CPU µs a request over both windows'
 * requests (weighted by their rates), the rates, latencies averaged, errors added.
 */
export function combineReadings(a: Measurement, b: Measurement): Measurement {
  const total = a.rps + b.rps;
  const wa = total > 0 ? a.rps / total : 0.5;
  const wb = 1 - wa;
  return {
    rps: (a.rps + b.rps) / 2,
    p50: (a.p50 + b.p50) / 2,
    p99: (a.p99 + b.p99) / 2,
    cpuMicros: a.cpuMicros * wa + b.cpuMicros * wb,
    userMicros: a.userMicros * wa + b.userMicros * wb,
    systemMicros: a.systemMicros * wa + b.systemMicros * wb,
    errors: a.errors + b.errors,
  };
}

/**
 * The block's readings in block order from readings taken in {@link bareTwiceOrder}: a
 * configuration read twice (the bare one) gets its two combined with {@link combineReadings}.
 */
export function foldBareTwice(order: readonly number[], readings: readonly Measurement[]): Measurement[] {
  const out: (Measurement | undefined)[] = [];
  order.forEach((index, i) => {
    const m = readings[i] as Measurement;
    const seen = out[index];
    out[index] = seen === undefined ? m : combineReadings(seen, m);
  });
  return out as Measurement[];
}
