import { Agent, request } from 'node:http';

/** Latency percentile (ms) of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Result of {@link load}. */
export interface LoadResult {
  statuses: Map<number, number>;
  latencies: number[];
  p50: number;
  p99: number;
  max: number;
}

/**
 * Sends `total` requests to `base` with at most `concurrency` in flight (keep-alive), the
 * i-th to `pathFor(i)` (POST with a small JSON body when the path starts with `POST `).
 * Bounded in count; every request has a 5 s timeout.
 */
export async function load(base: string, total: number, concurrency: number, pathFor: (i: number) => string): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(base);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const one = (i: number): Promise<void> => new Promise((resolve) => {
    const target = pathFor(i);
    const post = target.startsWith('POST ');
    const path = post ? target.slice(5) : target;
    const body = post ? JSON.stringify({ question: `question ${i}` }) : undefined;
    const started = performance.now();
    const req = request({ host: url.hostname, port: url.port, path, method: post ? 'POST' : 'GET', agent, timeout: 5000, headers: post ? { 'content-type': 'application/json', 'x-user-id': `u${i % 50}` } : { 'x-user-id': `u${i % 50}` } }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - started);
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      latencies.push(performance.now() - started);
      statuses.set(0, (statuses.get(0) ?? 0) + 1);
      resolve();
    });
    req.end(body);
  });
  const worker = async (): Promise<void> => {
    while (next < total) await one(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  return { statuses, latencies, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0 };
}
