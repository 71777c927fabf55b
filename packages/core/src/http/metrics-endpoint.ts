import { createHash, timingSafeEqual } from 'node:crypto';
import { Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { exemplarsOf } from './exemplars';

/** A framework-neutral HTTP response that an adapter writes out as it is. */
export interface HandlerResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** SHA-256 of a token: 32 bytes whatever its length, so that comparing digests says nothing about the length. */
export function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Whether `Authorization: Bearer <token>` carries the expected token, compared in constant time:
 * both sides are hashed first, so `timingSafeEqual` always compares 32 bytes and neither the
 * content nor the length of the token leaks through the time taken (only the header's own
 * length, which the client knows, changes the hashing time).
 */
export function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice(7).trim()), expected);
}

const OPENMETRICS = 'application/openmetrics-text';

/** Whether a scraper asks for OpenMetrics (Prometheus sends `application/openmetrics-text;version=1.0.0,...` first). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes(OPENMETRICS);
}

/**
 * A read-only view of `metric` for an OpenMetrics registry. prom-client renames a counter in
 * place when it renders OpenMetrics (`x_total` → `x`, then `x_total` on each sample), which would
 * break the Prometheus text of the registry the counter lives in: the view takes the rename instead.
 * A histogram with exemplars (metrics.exemplars) gets them on its bucket samples here, the only
 * exposition that carries them.
 */
function openMetricsView(metric: object): unknown {
  const m = metric as { name: string; help: string; type: string; get(): Promise<MetricObjectWithValues<MetricValue<string>>> };
  const name = m.type === 'counter' ? m.name.replace(/_total$/, '') : m.name;
  const exemplars = exemplarsOf(metric);
  return {
    name,
    help: m.help,
    type: m.type,
    get: async () => {
      const data = await m.get();
      const values = exemplars === undefined ? data.values : exemplars.attach(data.values as Array<MetricValue<string> & { metricName?: string }>);
      return { ...data, values, name };
    },
  };
}

/**
 * The OpenMetrics exposition of `registry` (its content type is left alone): each scrape copies
 * the metric list into an OpenMetrics registry of views, with the registry's constant labels.
 */
async function renderOpenMetrics(registry: Registry): Promise<string> {
  // Typed loosely: prom-client's registry types are generic over the content type.
  const om = new Registry() as unknown as { setContentType(t: string): void; registerMetric(m: unknown): void; setDefaultLabels(l: object): void; metrics(): Promise<string> };
  om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of registry.getMetricsAsArray()) om.registerMetric(openMetricsView(metric));
  // prom-client keeps a registry's default labels in a private field; copied when present.
  const defaults = (registry as unknown as { _defaultLabels?: object })._defaultLabels;
  if (defaults !== undefined && Object.keys(defaults).length > 0) om.setDefaultLabels(defaults);
  return om.metrics();
}

/**
 * Builds the `/metrics` handler: Prometheus text from `registry` (OpenMetrics when the `Accept`
 * header asks for `application/openmetrics-text`), its content type, and a 401
 * when a bearer token is configured and missing or wrong. Never rejects: a failing collector
 * gives a 500 with the reason, not a crashed request.
 */
export function createMetricsHandler(registry: Registry, bearerToken: string | undefined): (authorization: string | undefined, accept?: string) => Promise<HandlerResponse> {
  const expected = bearerToken === undefined ? undefined : digest(bearerToken);
  return async (authorization, accept): Promise<HandlerResponse> => {
    if (expected !== undefined && !tokenMatches(authorization, expected)) {
      return { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' }, body: 'Unauthorized\n' };
    }
    try {
      // An OpenMetrics-typed registry goes through the views too: they carry the exemplars.
      if (wantsOpenMetrics(accept) || (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE) {
        const body = await renderOpenMetrics(registry);
        return { status: 200, headers: { 'content-type': Registry.OPENMETRICS_CONTENT_TYPE, 'cache-control': 'no-store', vary: 'accept' }, body };
      }
      const body = await registry.metrics();
      return { status: 200, headers: { 'content-type': registry.contentType, 'cache-control': 'no-store', vary: 'accept' }, body };
    } catch (error) {
      return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n` };
    }
  };
}
