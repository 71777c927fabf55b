/**
 * The OTLP/protobuf queue packs waiting spans (issue 17): a span that waits for its batch as an
 * object is copied by young-generation collections and promoted; once a chunk of spans has ended
 * they are encoded, and only their bytes wait. Real OTLP/HTTP export to a local receiver; the
 * spans are watched through WeakRefs across a forced garbage collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OtlpReceiver } from '@llmscope/testkit';
import { createOtlpProcessor } from '../../src/exporters/otlp';
import { TelemetryHealth } from '../../src/exporters/health';
import { Redactor } from '../../src/logging/redact';
import { BoundedExportProcessor, PACK_CHUNK } from '../../src/exporters/queue';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const tracer = new BasicTracerProvider().getTracer('packing-test');

function ended(name: string): ReadableSpan {
  const span = tracer.startSpan(name, { attributes: { 'payload.size': 'x'.repeat(64), 'user.email': 'bob@example.com' } });
  span.end();
  return span as unknown as ReadableSpan;
}

/** Ends `n` spans into `processor` and returns only weak references to them. */
function feed(processor: BoundedExportProcessor, n: number, from = 0): WeakRef<ReadableSpan>[] {
  const refs: WeakRef<ReadableSpan>[] = [];
  for (let i = from; i < from + n; i++) {
    const span = ended(`work ${i}`);
    refs.push(new WeakRef(span));
    processor.onEnd(span);
  }
  return refs;
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `work ${i}`).sort();

describe('OTLP export queue: spans waiting for their batch are packed', () => {
  let receiver: OtlpReceiver;
  let warnings: string[];
  let health: TelemetryHealth;
  beforeEach(async () => {
    receiver = await new OtlpReceiver().start();
    warnings = [];
    health = new TelemetryHealth(undefined, (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`), 60_000);
  });
  afterEach(async () => {
    await receiver.close();
  });

  // Batches of 512 and a 60 s delay: nothing is sent while the test looks at the heap.
  const processor = (): BoundedExportProcessor => createOtlpProcessor({ url: receiver.tracesUrl, headers: {}, protocol: 'http/protobuf' }, { maxQueueSize: 2048, maxBatchSize: 512, scheduledDelayMs: 60_000, exportTimeoutMs: 10_000 }, health, new Redactor());

  test('fewer than a chunk wait as objects; once a chunk has ended, the spans waiting are packed after that turn of the event loop: collectable, and every span arrives (redacted) at flush', async () => {
    const p = processor();
    const few = feed(p, PACK_CHUNK - 1);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs made in a job hold their targets until it ends
    gc();
    expect(few.filter((r) => r.deref() !== undefined)).toHaveLength(PACK_CHUNK - 1);
    const n = 3 * PACK_CHUNK + 5;
    const refs = [...few, ...feed(p, n - few.length, few.length)];
    expect(p.queued).toBe(n);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(p.queued).toBe(n);
    expect(receiver.requestCount).toBe(0);

    await p.forceFlush();
    await receiver.waitForSpans((spans) => spans.length === n);
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(names(n));
    expect(receiver.requestCount).toBe(1); // one batch: the chunks put together
    expect(JSON.stringify(receiver.spans)).not.toContain('bob@example.com');
    expect(p.queued).toBe(0);
    expect(health.droppedTotal('otlp')).toBe(0);
    expect(warnings).toEqual([]);
    await p.shutdown();
  });

  test('batches are whole chunks up to the batch size', async () => {
    const p = createOtlpProcessor({ url: receiver.tracesUrl, headers: {}, protocol: 'http/protobuf' }, { maxQueueSize: 2048, maxBatchSize: 2 * PACK_CHUNK, scheduledDelayMs: 60_000, exportTimeoutMs: 10_000 }, health, new Redactor());
    // Fed in turns of one chunk, so each is packed before the next.
    for (let i = 0; i < 5; i++) {
      feed(p, PACK_CHUNK, i * PACK_CHUNK);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await p.forceFlush();
    await receiver.waitForSpans((spans) => spans.length === 5 * PACK_CHUNK);
    expect(receiver.requestCount).toBe(3); // 128, 128, 64
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(names(5 * PACK_CHUNK));
    expect(health.droppedTotal('otlp')).toBe(0);
    await p.shutdown();
  });

  test('a batch size under a chunk: chunks are cut to fit it, no request carries more spans than the batch size', async () => {
    const p = createOtlpProcessor({ url: receiver.tracesUrl, headers: {}, protocol: 'http/protobuf' }, { maxQueueSize: 2048, maxBatchSize: 10, scheduledDelayMs: 60_000, exportTimeoutMs: 10_000 }, health, new Redactor());
    // Ended in one turn (so nothing leaves before all are queued): 10 + 10 + 5.
    feed(p, 25);
    await p.forceFlush();
    await receiver.waitForSpans((spans) => spans.length === 25);
    expect(receiver.requestCount).toBe(3);
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(names(25));
    await p.shutdown();
  });

  test('the queue bound counts packed spans: what does not fit is dropped and counted', async () => {
    const p = createOtlpProcessor({ url: receiver.tracesUrl, headers: {}, protocol: 'http/protobuf' }, { maxQueueSize: 300, maxBatchSize: 512, scheduledDelayMs: 60_000, exportTimeoutMs: 10_000 }, health, new Redactor());
    for (let i = 0; i < 5; i++) {
      feed(p, PACK_CHUNK, i * PACK_CHUNK);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(p.queued).toBe(300);
    expect(health.droppedTotal('otlp')).toBe(5 * PACK_CHUNK - 300);
    await p.forceFlush();
    await receiver.waitForSpans((spans) => spans.length === 300);
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(names(300));
    await p.shutdown();
  });

  test('a span the encoder cannot read costs its chunk only, counted as dropped; the rest arrive', async () => {
    const p = processor();
    feed(p, PACK_CHUNK);
    await new Promise((resolve) => setImmediate(resolve));
    const broken = ended('broken');
    Object.defineProperty(broken, 'attributes', { get: () => { throw new Error('unreadable attributes'); } });
    p.onEnd(broken);
    feed(p, PACK_CHUNK - 1, PACK_CHUNK); // the broken span's chunk: 64 spans
    feed(p, 10, 2 * PACK_CHUNK - 1);
    await p.forceFlush();
    await receiver.waitForSpans((spans) => spans.length === PACK_CHUNK + 10);
    expect(health.droppedTotal('otlp')).toBe(PACK_CHUNK);
    expect(warnings.join('\n')).toContain('unreadable attributes');
    await p.shutdown();
  });

  test('a packing exporter takes no transform (it redacts as it packs): a clear error at start-up', () => {
    const packing = { pack: () => ({ count: 0 }), exportPacked: () => undefined, export: () => undefined, shutdown: async () => undefined };
    expect(() => new BoundedExportProcessor('otlp', packing, health, undefined, (s) => s)).toThrow('packs spans itself');
  });
});
