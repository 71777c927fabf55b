import type { ResolvedRouteLatency } from './options';

/** Routes tracked at most; a safety net (route labels are already bounded by `maxRoutes`). */
const MAX_ROUTES = 2000;
/** The threshold is recomputed every `max(16, window / 4)` samples, so selecting stays off most requests. */
const MIN_RECOMPUTE_EVERY = 16;

/** A ring of recent durations and the percentile computed from it. */
class RouteWindow {
  readonly ring: Float64Array;
  count = 0;
  next = 0;
  sinceRecompute = 0;
  threshold = Infinity;
  constructor(size: number) {
    this.ring = new Float64Array(size);
  }
}

/**
 * Rolling latency percentile per route: "slower than the p95 of its route's last 200 requests".
 * Each request's duration is compared with the threshold computed from the requests before it
 * (so a slow request cannot hide itself by raising the bar), then added to the window.
 * Memory: one `Float64Array(window)` per route; CPU: a selection (not a sort) over `window`
 * values every `window / 4` requests of the route, in a scratch array shared by the routes.
 */
export class RouteLatency {
  private readonly routes = new Map<string, RouteWindow>();
  private readonly recomputeEvery: number;
  /** Where the selection reorders a copy of a window (the ring keeps its order). */
  private readonly scratch: Float64Array;

  constructor(private readonly options: ResolvedRouteLatency) {
    this.recomputeEvery = Math.max(MIN_RECOMPUTE_EVERY, Math.floor(options.window / 4));
    this.scratch = new Float64Array(options.window);
  }

  /** Records `ms` for `route`; returns whether it exceeds the route's current percentile. */
  observe(route: string, ms: number): boolean {
    let w = this.routes.get(route);
    if (w === undefined) {
      if (this.routes.size >= MAX_ROUTES) return false;
      w = new RouteWindow(this.options.window);
      this.routes.set(route, w);
    }
    const slow = w.count >= this.options.minSamples && ms > w.threshold;
    w.ring[w.next] = ms;
    w.next = (w.next + 1) % w.ring.length;
    if (w.count < w.ring.length) w.count++;
    if (++w.sinceRecompute >= this.recomputeEvery || w.count === this.options.minSamples) {
      w.sinceRecompute = 0;
      w.threshold = this.percentile(w);
    }
    return slow;
  }

  /** The current threshold of `route`, ms (Infinity while it has too few samples). */
  threshold(route: string): number {
    const w = this.routes.get(route);
    return w === undefined || w.count < this.options.minSamples ? Infinity : w.threshold;
  }

  private percentile(w: RouteWindow): number {
    const n = w.count;
    const a = this.scratch;
    a.set(n === w.ring.length ? w.ring : w.ring.subarray(0, n));
    // Nearest-rank percentile: the value a sort would put at `rank`.
    const rank = Math.min(n - 1, Math.max(0, Math.ceil(this.options.percentile * n) - 1));
    return select(a, n, rank);
  }
}

/**
 * The `k`-th smallest of `a[0..n)` (Hoare's quickselect, median-of-three pivot), reordering `a`.
 * A sort of the default 200 values cost ~7 µs every 50 requests (0.14-0.35 µs a request in the
 * profiles); the selection is linear on average.
 */
export function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three into a[mid], so sorted and equal inputs stay linear.
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
