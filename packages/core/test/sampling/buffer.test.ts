import { SpanKind, context, trace } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Llmscope, step } from '../../src';
import { resolveOptions } from '../../src/config/options';
import { find, parseMetrics } from '@llmscope/testkit';

/** Starts `n` requests through the real lifecycle (no network: 10,000 sockets prove nothing here). */
function startRequests(scope: Llmscope, n: number) {
  return Array.from({ length: n }, (_, i) => scope.startRequest('GET', `/items/${i}`, { 'x-user-id': `u${i % 100}` }, undefined));
}

describe('tail sampling buffer', () => {
  test('10,000 concurrent open traces never exceed maxTraces / maxSpansPerTrace; what is dropped is counted', async () => {
    const exporter = new InMemorySpanExporter();
    const scope = new Llmscope({
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      sampling: { tail: { baseRate: 0, routeLatency: false, maxTraces: 1000, maxSpansPerTrace: 4, maxAgeMs: 600000 } },
    });
    const tail = scope.sampling?.tail;
    if (tail === undefined) throw new Error('no tail sampler');
    const requests = startRequests(scope, 10000);
    // Six child spans end in every request while all 10,000 are open: two over the per-trace limit.
    for (const [i, ctx] of requests.entries()) {
      scope.run(ctx, () => {
        for (let k = 0; k < 6; k++) step(`step_${k}`, () => k);
        // Every 10th trace has an error in a child: kept even when decided early.
        if (i % 10 === 0) {
          try {
            step('failing', () => {
              throw new Error('boom');
            });
          } catch {
            // expected
          }
        }
      });
      const s = tail.stats;
      expect(s.openTraces).toBeLessThanOrEqual(1000);
    }
    let stats = tail.stats;
    expect(stats.peakOpenTraces).toBe(1000);
    expect(stats.peakSpansInTrace).toBe(4);
    expect(stats.peakBufferedSpans).toBeLessThanOrEqual(1000 * 4);
    expect(stats.evicted.max_traces).toBe(9000);
    for (const ctx of requests) scope.finishRequest(ctx, 200);
    stats = tail.stats;
    expect(stats.openTraces).toBe(0);
    expect(stats.bufferedSpans).toBe(0);
    // Spans over the per-trace limit: 2 per trace, 3 for the error traces (their 7th span is the failing one).
    const overLimit = 9000 * 2 + 1000 * 3;
    // The 9000 evicted traces were decided on the 4 spans held: the 900 with an error kept (the error
    // span itself was over the limit, but the sampler remembers that one failed), 8100 dropped with their spans.
    const evictedDropped = 8100 * 4;
    expect(stats.droppedSpans).toBe(overLimit + evictedDropped);
    // Their roots arrive late and follow that decision; the 1000 still open are decided by their root.
    expect(stats.lateSpans).toBe(9000);
    expect(stats.decisions).toMatchObject({ error: 900 + 100, sampled_out: 8100 + 900, base_rate: 0 });
    // Exported: the error traces, 4 held spans + the root each.
    expect(exporter.getFinishedSpans()).toHaveLength(1000 * 5);
    const metrics = parseMetrics(await scope.registry!.metrics());
    expect(find(metrics, 'llmscope_telemetry_dropped_total', { exporter: 'tail_sampler' })[0]?.value).toBe(stats.droppedSpans);
    expect(find(metrics, 'llmscope_sampling_evicted_traces_total', { reason: 'max_traces' })[0]?.value).toBe(9000);
    expect(find(metrics, 'llmscope_sampling_buffer_traces')[0]?.value).toBe(0);
    await scope.shutdown();
  }, 60000);

  test('an error seen before eviction keeps the partial trace; a trace older than maxAgeMs is decided early', async () => {
    const exporter = new InMemorySpanExporter();
    const scope = new Llmscope({
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      sampling: { tail: { baseRate: 0, routeLatency: false, maxTraces: 10, maxAgeMs: 100 } },
    });
    const tail = scope.sampling!.tail!;
    const [failing, quiet] = startRequests(scope, 2) as [ReturnType<Llmscope['startRequest']>, ReturnType<Llmscope['startRequest']>];
    scope.run(failing, () => {
      try {
        step('failing', () => {
          throw new Error('boom');
        });
      } catch {
        // expected
      }
    });
    scope.run(quiet, () => step('fine', () => 1));
    expect(tail.stats.openTraces).toBe(2);
    // The age sweep runs on a timer: awaited (a loaded machine may run it late), not slept on.
    const deadline = Date.now() + 10000;
    while (tail.stats.openTraces > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(tail.stats.openTraces).toBe(0);
    expect(tail.stats.evicted.max_age).toBe(2);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['failing']);
    // The root, now late, follows its trace: the failing one is exported, the quiet one is not.
    scope.finishRequest(failing, 200);
    scope.finishRequest(quiet, 200);
    expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['GET', 'failing']);
    expect(tail.stats.lateSpans).toBe(2);
    await scope.shutdown();
  });

  test('late spans of a kept trace are exported; open traces are decided at shutdown', async () => {
    const exporter = new InMemorySpanExporter();
    const scope = new Llmscope({ tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] }, sampling: { tail: { baseRate: 1 } } });
    const tail = scope.sampling!.tail!;
    const [req, open] = startRequests(scope, 2) as [ReturnType<Llmscope['startRequest']>, ReturnType<Llmscope['startRequest']>];
    const tracer = trace.getTracer('app');
    // Work that outlives the response (a fire-and-forget write-back).
    const background = scope.run(req, () => tracer.startSpan('write_back', { kind: SpanKind.INTERNAL }, context.active()));
    scope.finishRequest(req, 200);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET']);
    background.end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET', 'write_back']);
    expect(tail.stats.lateSpans).toBe(1);
    scope.run(open, () => step('half_done', () => 1));
    await scope.shutdown();
    expect(tail.stats.evicted.shutdown).toBe(1);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET', 'write_back', 'half_done']);
  });

  test('a fresh tail sampler shows its eviction and drop counters at 0, so dashboards read 0 rather than no data', async () => {
    const scope = new Llmscope({ tracing: { spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] } });
    const metrics = parseMetrics(await (scope.registry as Registry).metrics());
    for (const reason of ['max_traces', 'max_age', 'shutdown']) {
      expect(find(metrics, 'llmscope_sampling_evicted_traces_total', { reason })[0]?.value).toBe(0);
    }
    expect(find(metrics, 'llmscope_telemetry_dropped_total', { exporter: 'tail_sampler' })[0]?.value).toBe(0);
    await scope.shutdown();
  });

  test('options are validated with clear messages; OTEL_TRACES_SAMPLER* configure the head sampler', () => {
    expect(() => resolveOptions({ sampling: { tail: { baseRate: 5 } } }, {})).toThrow(/`sampling.tail.baseRate` must be a number between 0 and 1/);
    expect(() => resolveOptions({ sampling: { tail: { slowms: 100 } as never } }, {})).toThrow(/unknown option `sampling.tail.slowms`. Did you mean `sampling.tail.slowMs`\?/);
    expect(() => resolveOptions({ sampling: { tail: { priority: { users: 'alice' as never } } } }, {})).toThrow(/priority.users` must be an array or Set/);
    expect(() => resolveOptions({ sampling: { tail: { routeLatency: { minSamples: 500 } } } }, {})).toThrow('option `sampling.tail.routeLatency.minSamples` must be at most `sampling.tail.routeLatency.window` (200), got 500.');
    expect(resolveOptions({}, { NODE_ENV: 'production' }).sampling.tail?.baseRate).toBe(0.05);
    expect(resolveOptions({}, {}).sampling.tail?.baseRate).toBe(1);
    expect(resolveOptions({ sampling: false }, {}).sampling.tail).toBeUndefined();
    expect(resolveOptions({}, {}).sampling.head).toEqual({ ratio: 1, parentBased: true });
    expect(resolveOptions({}, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampling.head).toEqual({ ratio: 0.25, parentBased: true });
    expect(resolveOptions({}, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'lots' }).sampling.head).toEqual({ ratio: 1, parentBased: false });
    expect(resolveOptions({}, { OTEL_TRACES_SAMPLER: 'always_off' }).sampling.head).toEqual({ ratio: 0, parentBased: false });
    expect(resolveOptions({ sampling: { head: { ratio: 0.5 } } }, { OTEL_TRACES_SAMPLER: 'always_off' }).sampling.head).toEqual({ ratio: 0.5, parentBased: false });
  });
});
