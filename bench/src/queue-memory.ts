/**
 * `npx tsx src/queue-memory.ts`: what a full OTLP/protobuf queue holds: 2,048 spans of typical
 * request traces waiting for a batch that never leaves (batches of 4,096, a 10-minute delay: no
 * export starts), measured after forced GCs as the difference the queue's `abandon()` makes (JS
 * heap and off-heap memory), and how many of the span objects are still alive.
 * `ROOT=<other checkout>` measures that checkout's sources instead (before/after a change).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ragTraces } from './rag-traces';

const root = process.env.ROOT ?? '../..';
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const settle = async (): Promise<NodeJS.MemoryUsage> => {
  // Two turns: the queue packs after the turn that ended the spans; WeakRefs made in a job hold their targets until it ends.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
  return process.memoryUsage();
};

async function main(): Promise<void> {
  const { createOtlpProcessor } = await import(`${root}/packages/core/src/exporters/otlp`);
  const { TelemetryHealth } = await import(`${root}/packages/core/src/exporters/health`);
  const { Redactor } = await import(`${root}/packages/core/src/logging/redact`);
  const all: ReadableSpan[] = [];
  await ragTraces(420, { otlp: false }, all);
  const p = createOtlpProcessor({ url: 'http://127.0.0.1:9/v1/traces', headers: {}, protocol: 'http/protobuf' }, { maxQueueSize: 2048, maxBatchSize: 4096, scheduledDelayMs: 600_000, exportTimeoutMs: 600_000 }, new TelemetryHealth(undefined, () => undefined, 60_000), new Redactor());
  const refs = all.slice(0, 2048).map((span) => {
    p.onEnd(span);
    return new WeakRef(span);
  });
  all.length = 0;
  const full = await settle();
  const queued = p.queued as number;
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  p.abandon();
  const empty = await settle();
  console.log(JSON.stringify({ queued, spanObjectsAlive: alive, heapKB: Math.round((full.heapUsed - empty.heapUsed) / 1024), offHeapKB: Math.round((full.external - empty.external) / 1024) }));
}

void main();
