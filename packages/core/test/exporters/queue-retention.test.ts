/**
 * The export queue lets go of a batch's spans once the exporter has encoded them (issue 17: spans
 * held while the request was in flight were copied by every young-generation collection, and
 * promoted). Real OTLP/HTTP export to a receiver that answers late; the spans are watched through
 * WeakRefs across a forced garbage collection. The JSON protocol: its exporter takes the span
 * objects themselves, where the protobuf queue has encoded them before the batch leaves
 * (queue-packing.test.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OtlpReceiver, waitFor } from '@llmscope/testkit';
import { createOtlpProcessor } from '../../src/exporters/otlp';
import { TelemetryHealth } from '../../src/exporters/health';
import { Redactor } from '../../src/logging/redact';
import type { BoundedExportProcessor } from '../../src/exporters/queue';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const BATCH = 64;

/** Ends `n` spans into `processor` and returns only weak references to them. */
function feed(processor: BoundedExportProcessor, n: number): WeakRef<ReadableSpan>[] {
  const tracer = new BasicTracerProvider().getTracer('retention-test');
  const refs: WeakRef<ReadableSpan>[] = [];
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan(`work ${i}`, { attributes: { 'payload.size': 'x'.repeat(64), i } });
    span.end();
    const ended = span as unknown as ReadableSpan;
    refs.push(new WeakRef(ended));
    processor.onEnd(ended);
  }
  return refs;
}

describe('export queue: spans are not held while their export is in flight', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    // Every export answered 1.5 s late: long enough to look at the heap while it is in flight.
    receiver = await new OtlpReceiver({ mode: 'slow', delayMs: 1500 }).start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  test('a batch sent and not yet answered: its spans are collectable; the receiver still gets them all', async () => {
    const warnings: string[] = [];
    const health = new TelemetryHealth(undefined, (_fields, message) => warnings.push(message), 60_000);
    const processor = createOtlpProcessor({ url: receiver.tracesUrl, headers: {}, protocol: 'http/json' }, { maxQueueSize: 1024, maxBatchSize: BATCH, scheduledDelayMs: 10_000, exportTimeoutMs: 60_000 }, health, new Redactor());
    // A full batch is sent at once (no waiting for the delay).
    const refs = feed(processor, BATCH);
    await waitFor(() => receiver.requestCount === 1, 10_000, 'the export request');
    expect(processor.queued).toBe(0);
    // A macrotask first: WeakRefs created in a job keep their targets until it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    // The export was not waiting on them: it completes, with every span.
    await processor.forceFlush();
    await receiver.waitForSpans((spans) => spans.length === BATCH);
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(Array.from({ length: BATCH }, (_, i) => `work ${i}`).sort());
    expect(health.droppedTotal('otlp')).toBe(0);
    expect(warnings).toEqual([]);
    await processor.shutdown();
  });
});
