import type { SeriesExemplars } from './exemplars';

/** The label children of one (route, method, status) series. */
export interface SeriesChildren {
  duration: { observe(value: number): void };
  count: { inc(): void };
  /** With `metrics.exemplars`: the series' exemplar slots. */
  exemplars?: SeriesExemplars;
}

/** What llmscope caches per route template: span names by method, metric children by method and status. */
export class RouteEntry {
  readonly series = new Map<number, SeriesChildren>();
  /** With `metrics.tagLabels`: by (method, status), then by the tag label values. Created on first use. */
  tagged: Map<number, Map<string, SeriesChildren>> | undefined = undefined;
  private readonly spanNames = new Map<string, string>();

  constructor(
    readonly route: string,
    /** False for the unmatched entry: its spans are named by the method alone (OTel semconv) and get no `http.route`. */
    readonly matched: boolean,
    /** True for a template in `metrics.exclude`: its requests are not counted (decided once per route). */
    readonly excluded = false,
  ) {}

  spanName(method: string): string {
    if (!this.matched) return method;
    let name = this.spanNames.get(method);
    if (name === undefined) {
      name = `${method} ${this.route}`;
      this.spanNames.set(method, name);
    }
    return name;
  }
}

/**
 * Route templates seen so far. Bounded: past `maxRoutes` distinct templates, requests share the
 * `other` entry, so that a misbehaving adapter or app cannot grow the label set without end.
 */
export class RouteTable {
  private readonly routes = new Map<string, RouteEntry>();
  readonly unmatched: RouteEntry;
  private readonly overflow = new RouteEntry('other', true);

  constructor(unmatchedRoute: string, private readonly maxRoutes: number, private readonly excluded?: ReadonlySet<string>) {
    this.unmatched = new RouteEntry(unmatchedRoute, false);
  }

  get(route: string | undefined): RouteEntry {
    if (route === undefined) return this.unmatched;
    let entry = this.routes.get(route);
    if (entry === undefined) {
      if (this.routes.size >= this.maxRoutes) return this.overflow;
      entry = new RouteEntry(route, true, this.excluded !== undefined && this.excluded.has(route));
      this.routes.set(route, entry);
    }
    return entry;
  }

  get size(): number {
    return this.routes.size;
  }
}
