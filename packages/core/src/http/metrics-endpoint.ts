import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';

/** A framework-neutral HTTP response that an adapter writes out as it is. */
export interface HandlerResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Builds the `/metrics` handler: Prometheus text from `registry`, its content type, and a 401
 * when a bearer token is configured and missing or wrong. Never rejects: a failing collector
 * gives a 500 with the reason, not a crashed request.
 */
export function createMetricsHandler(registry: Registry, bearerToken: string | undefined): (authorization: string | undefined) => Promise<HandlerResponse> {
  const expected = bearerToken === undefined ? undefined : Buffer.from(bearerToken);
  return async (authorization): Promise<HandlerResponse> => {
    if (expected !== undefined && !tokenMatches(authorization, expected)) {
      return { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' }, body: 'Unauthorized\n' };
    }
    try {
      const body = await registry.metrics();
      return { status: 200, headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' }, body };
    } catch (error) {
      return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n` };
    }
  };
}
