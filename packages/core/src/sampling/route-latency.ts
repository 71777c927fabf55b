import type { ResolvedRouteLatency } from './options';

/** Routes tracked at most; a safety net (route labels are already bounded by `maxRoutes`). */
const MAX_ROUTES = 2000;
/** The threshold is recomputed every `max(16, window / 4)` samples, so sorting stays off most requests. */
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
 * Memory: one `Float64Array(window)` per route; CPU: a sort of `window` values every `window / 4`
 * requests of the route (200 values every 50 requests by default: ~0.2 µs a request).
 */
export class RouteLatency {
  private readonly routes = new Map<string, RouteWindow>();
  private readonly recomputeEvery: number;

  constructor(private readonly options: ResolvedRouteLatency) {
    this.recomputeEvery = Math.max(MIN_RECOMPUTE_EVERY, Math.floor(options.window / 4));
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
    const sorted = w.ring.slice(0, w.count).sort();
    // Nearest-rank percentile.
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(this.options.percentile * sorted.length) - 1));
    return sorted[rank] as number;
  }
}
