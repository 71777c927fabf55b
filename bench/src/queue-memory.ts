/**
 * `npx tsx src/queue-memory.ts`: what a full OTLP/protobuf queue holds (2,048 spans of typical
 * request traces, a backend that accepts connections and never answers), after forced GCs: span
 * objects still alive, JS heap and off-heap (slab) memory against before the spans ended.
 * `ROOT=<other checkout>` measures that checkout's sources instead (before/after a change).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createServer } from 'node:net';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ragTraces } from './rag-traces';
const root = process.env.ROOT ?? '../..';
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
async function main(): Promise<void> {
  const { createOtlpProcessor } = await import(`${root}/packages/core/src/exporters/otlp`);
  const { TelemetryHealth } = await import(`${root}/packages/core/src/exporters/health`);
  const { Redactor } = await import(`${root}/packages/core/src/logging/redact`);
  // A backend that accepts the connection and never answers.
  const server = createServer(() => undefined).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  let spans: ReadableSpan[] = [];
  await ragTraces(420, { otlp: false }, spans);
  spans = spans.slice(0, 2048);
  const p = createOtlpProcessor({ url: `http://127.0.0.1:${port}/v1/traces`, headers: {}, protocol: 'http/protobuf' }, { maxQueueSize: 2048, maxBatchSize: 4096, scheduledDelayMs: 600_000, exportTimeoutMs: 600_000 }, new TelemetryHealth(undefined, () => undefined, 60_000), new Redactor());
  await new Promise((r) => setImmediate(r));
  gc(); gc();
  const before = process.memoryUsage();
  for (let i = 0; i < 64; i++) p.onEnd(spans[i]!); // warm
  const refs = spans.map((s) => new WeakRef(s));
  for (const s of spans.slice(64)) p.onEnd(s);
  spans = [];
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  gc(); gc();
  const after = process.memoryUsage();
  console.log(JSON.stringify({ queued: p.queued, spanObjectsAlive: refs.filter((r) => r.deref() !== undefined).length, heapUsedKB: Math.round((after.heapUsed - before.heapUsed) / 1024), externalKB: Math.round((after.external - before.external) / 1024) }));
  process.exit(0);
}
void main();
