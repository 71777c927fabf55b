import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { counter, gauge, histogram } from './prom';
import type { RouteEntry } from './routes';

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

/**
 * The HTTP RED metrics. Label sets are built once per (route, method, status) and cached on
 * the route entry, so a request costs two map lookups, one observe and one inc.
 */
export class HttpMetrics {
  readonly duration: Histogram<'method' | 'route' | 'status_code'>;
  readonly requests: Counter<'method' | 'route' | 'status_code'>;
  readonly active: Gauge;
  constructor(registry: Registry, buckets: number[]) {
    const labels = ['method', 'route', 'status_code'] as const;
    this.duration = histogram(registry, 'http_server_request_duration_seconds', 'Duration of HTTP server requests, by method, route template and status code.', labels, buckets);
    this.requests = counter(registry, 'http_server_requests_total', 'HTTP server requests, by method, route template and status code.', labels);
    this.active = gauge(registry, 'http_server_active_requests', 'HTTP server requests in flight.');
  }

  observe(entry: RouteEntry, method: string, status: number, seconds: number): void {
    // Status codes outside 100-599 are not HTTP; fold them so they cannot create series.
    const code = status >= 100 && status <= 599 ? status : 0;
    const key = code * 16 + (METHOD_INDEX.get(method) ?? 15);
    let children = entry.series.get(key);
    if (children === undefined) {
      const labels = { method, route: entry.route, status_code: code === 0 ? 'invalid' : String(code) };
      children = { duration: this.duration.labels(labels), count: this.requests.labels(labels) };
      entry.series.set(key, children);
    }
    children.duration.observe(seconds);
    children.count.inc();
  }
}

