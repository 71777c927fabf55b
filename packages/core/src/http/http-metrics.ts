import type { Span } from '@opentelemetry/api';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TagValue } from '../context/context';
import { LabelCap } from '../genai/labels';
import { exemplarsFor, type HistogramExemplars, type SeriesExemplars } from './exemplars';
import { counter, gauge, histogram } from './prom';
import { seriesChildren } from './prom-children';
import type { RouteEntry, SeriesChildren } from './routes';

/** HTTP methods kept as label values; anything else is recorded as `_OTHER` (OTel semconv), so a client cannot create series. */
export const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
export const METHOD_INDEX = new Map(KNOWN_METHODS.map((m, i) => [m, i] as const));
const OTHER_METHOD = '_OTHER';

/** Maps a request method to its bounded label value. */
export function normaliseMethod(method: string | undefined): string {
  if (method === undefined) return OTHER_METHOD;
  if (METHOD_INDEX.has(method)) return method;
  const upper = method.toUpperCase();
  return METHOD_INDEX.has(upper) ? upper : OTHER_METHOD;
}

/** Reads an instance's requests in flight (at scrape time). */
export type InFlightSource = () => number;

/**
 * Per gauge, the instances whose requests in flight it reports: an app registry shared by two
 * instances has one gauge, and it reports the sum (what two instances moving it per request did).
 */
const inFlightSources = new WeakMap<Gauge, Set<InFlightSource>>();

function inFlightSourcesOf(g: Gauge): Set<InFlightSource> {
  let sources = inFlightSources.get(g);
  if (sources === undefined) inFlightSources.set(g, (sources = new Set()));
  return sources;
}

/** The `collect` of `http_server_active_requests`: the sum over the instances that report to it. */
function collectInFlight(this: Gauge): void {
  let n = 0;
  for (const source of inFlightSourcesOf(this)) n += source();
  this.set(n);
}

/**
 * The HTTP RED metrics. Label sets are built once per (route, method, status) and cached on
 * the route entry, so a request costs two map lookups, one observe and one inc, both updated in place (prom-children.ts).
 */
export class HttpMetrics {
  readonly duration: Histogram<string>;
  readonly requests: Counter<string>;
  readonly active: Gauge;
  /** `metrics.tagLabels`: the tag keys and their caps; undefined when none (the plain path). */
  private readonly tagKeys: string[] | undefined;
  private readonly tagCaps: LabelCap[] = [];
  /** With `metrics.exemplars`: the duration histogram's exemplars; undefined when off (the plain path). */
  private readonly exemplars: HistogramExemplars | undefined;

  /**
   * @param inFlight - the instance's requests in flight, read when the registry is collected
   *   (`http_server_active_requests`): a gauge moved per request cost two prom-client calls, each
   *   hashing an empty label set (~0.1 µs each in the profiles).
   */
  constructor(registry: Registry, buckets: number[], tagLabels: ReadonlyArray<{ key: string; max: number }> | undefined, private readonly inFlight: InFlightSource) {
    const labels = ['method', 'route', 'status_code', ...(tagLabels ?? []).map((t) => t.key)];
    if (tagLabels !== undefined && tagLabels.length > 0) {
      this.tagKeys = tagLabels.map((t) => t.key);
      this.tagCaps = tagLabels.map((t) => new LabelCap(t.max, 'none'));
    }
    this.duration = histogram(registry, 'http_server_request_duration_seconds', 'Duration of HTTP server requests, by method, route template and status code.', labels, buckets);
    this.requests = counter(registry, 'http_server_requests_total', 'HTTP server requests, by method, route template and status code.', labels);
    this.active = gauge(registry, 'http_server_active_requests', 'HTTP server requests in flight.', [], collectInFlight);
    inFlightSourcesOf(this.active).add(inFlight);
    this.exemplars = exemplarsFor(registry, this.duration, labels, buckets);
  }

  /**
   * Records one request. `request` is read only with exemplars on: its span's trace id becomes the
   * exemplar of the duration bucket when the span records (a non-recording span's trace is never exported).
   */
  observe(entry: RouteEntry, method: string, status: number, seconds: number, tags?: Record<string, TagValue>, request?: ExemplarSource): void {
    // Status codes outside 100-599 are not HTTP; fold them so they cannot create series.
    const code = status >= 100 && status <= 599 ? status : 0;
    const key = code * 16 + (METHOD_INDEX.get(method) ?? 15);
    if (this.tagKeys !== undefined) {
      this.observeTagged(entry, key, method, code, seconds, tags, request);
      return;
    }
    let children = entry.series.get(key);
    if (children === undefined) {
      const labels = { method, route: entry.route, status_code: code === 0 ? 'invalid' : String(code) };
      children = seriesChildren(this.duration, this.requests, labels);
      if (this.exemplars !== undefined) children.exemplars = this.exemplars.forSeries(labels);
      entry.series.set(key, children);
    }
    children.duration.observe(seconds);
    children.count.inc();
    if (children.exemplars !== undefined) recordExemplar(children.exemplars, seconds, request);
  }

  /** Stops reporting this instance's requests in flight (shut down: the gauge of a shared registry no longer holds it). */
  close(): void {
    inFlightSourcesOf(this.active).delete(this.inFlight);
  }

  /** The label value of tag `i` of the request: capped, `none` when absent. */
  private tagValue(i: number, tags: Record<string, TagValue> | undefined): string {
    const raw = tags === undefined ? undefined : tags[(this.tagKeys as string[])[i] as string];
    return (this.tagCaps[i] as LabelCap).get(raw === undefined || typeof raw === 'string' ? raw : String(raw));
  }

  /**
   * With tag labels: each tag's value through its cap (one map lookup), then the children cached
   * by (method, status) and the joined values, so a request costs a few lookups, one observe and one inc.
   */
  private observeTagged(entry: RouteEntry, key: number, method: string, code: number, seconds: number, tags: Record<string, TagValue> | undefined, request: ExemplarSource | undefined): void {
    const keys = this.tagKeys as string[];
    let joined = '';
    for (let i = 0; i < keys.length; i++) {
      const value = this.tagValue(i, tags);
      joined = i === 0 ? value : `${joined}\u0000${value}`;
    }
    const tagged = (entry.tagged ??= new Map());
    let byTags = tagged.get(key);
    if (byTags === undefined) tagged.set(key, (byTags = new Map()));
    let children: SeriesChildren | undefined = byTags.get(joined);
    if (children === undefined) {
      const labels: Record<string, string> = { method, route: entry.route, status_code: code === 0 ? 'invalid' : String(code) };
      // The caps already hold these values: asking again gives the same labels.
      for (let i = 0; i < keys.length; i++) labels[keys[i] as string] = this.tagValue(i, tags);
      children = seriesChildren(this.duration, this.requests, labels);
      if (this.exemplars !== undefined) children.exemplars = this.exemplars.forSeries(labels);
      byTags.set(joined, children);
    }
    children.duration.observe(seconds);
    children.count.inc();
    if (children.exemplars !== undefined) recordExemplar(children.exemplars, seconds, request);
  }
}

/** What an exemplar is taken from: the request's span and its start (`performance.now()` time). */
export interface ExemplarSource {
  readonly span: Span | undefined;
  readonly startTime: number;
}

/**
 * Records the request's trace id as an exemplar when its span records (sampled in, or held for
 * the tail decision). Its timestamp is the request's start plus its duration: no clock read.
 */
function recordExemplar(exemplars: SeriesExemplars, seconds: number, request: ExemplarSource | undefined): void {
  if (request === undefined) return;
  const span = request.span;
  if (span !== undefined && span.isRecording()) exemplars.record(seconds, span.spanContext().traceId, TIME_ORIGIN + request.startTime + seconds * 1000);
}

/** `performance.now()` 0 in epoch milliseconds (read once: a getter). */
const TIME_ORIGIN = performance.timeOrigin;
