import { AsyncResource } from 'node:async_hooks';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { find, parseMetrics } from '@llmscope/testkit';
import { Registry } from 'prom-client';
import { Llmscope, step } from '../../src';
import { traceIdFraction } from '../../src/sampling/decide';
import { RouteLatency, select } from '../../src/sampling/route-latency';
import { DecisionMemory } from '../../src/sampling/tail';

// A fixed-seed generator, so that a failure can be replayed.
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('tail sampler bookkeeping', () => {
  test('select() gives what a sort puts at k, on random, sorted, reversed and repeated values', () => {
    const rand = lcg(7);
    const shapes: Array<(n: number) => number[]> = [
      (n) => Array.from({ length: n }, () => rand() * 100),
      (n) => Array.from({ length: n }, (_, i) => i),
      (n) => Array.from({ length: n }, (_, i) => n - i),
      (n) => Array.from({ length: n }, () => Math.floor(rand() * 3)),
      (n) => Array.from({ length: n }, () => 5),
    ];
    for (const shape of shapes) {
      for (const n of [1, 2, 3, 17, 200, 1000]) {
        const values = shape(n);
        const sorted = Float64Array.from(values).sort();
        for (const k of [0, Math.floor(n / 2), Math.ceil(0.95 * n) - 1, n - 1]) {
          expect(select(Float64Array.from(values), n, Math.max(0, k))).toBe(sorted[Math.max(0, k)]);
        }
      }
    }
  });

  test('the route threshold is the nearest-rank percentile of the window, as sorting it gives', () => {
    const rand = lcg(11);
    const window = 200;
    const latency = new RouteLatency({ percentile: 0.95, window, minSamples: 50 });
    const seen: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const ms = rand() < 0.1 ? 50 + rand() * 500 : 5 + rand() * 10;
      latency.observe('/chat', ms);
      seen.push(ms);
      // Recomputed every window / 4 = 50 samples: right after one, it is the window's p95.
      if (seen.length >= window && seen.length % 50 === 0) {
        const last = Float64Array.from(seen.slice(-window)).sort();
        expect(latency.threshold('/chat')).toBe(last[Math.ceil(0.95 * window) - 1]);
      }
    }
  });

  test('traceIdFraction() reads the last 13 hex digits as parseInt does', () => {
    const rand = lcg(3);
    const hex = '0123456789abcdef';
    for (let i = 0; i < 2000; i++) {
      let id = '';
      for (let d = 0; d < 32; d++) id += hex[Math.floor(rand() * 16)];
      if (i % 3 === 0) id = id.toUpperCase();
      expect(traceIdFraction(id)).toBe(Number.parseInt(id.slice(-13), 16) / 2 ** 52);
    }
    expect(traceIdFraction('0'.repeat(32))).toBe(0);
    expect(traceIdFraction('f'.repeat(32))).toBe((2 ** 52 - 1) / 2 ** 52);
    expect(traceIdFraction('zz')).toBe(0);
    expect(traceIdFraction('x'.repeat(32))).toBe(0);
    // Characters past ASCII (one whose low byte is a digit's code) and the codes around the digits' ranges.
    expect(traceIdFraction('1'.repeat(31) + '\u0131')).toBe(0);
    for (const c of ['/', ':', '@', 'G', '`', 'g']) expect(traceIdFraction('1'.repeat(31) + c)).toBe(0);
  });

  test('a span ending after its trace was decided follows it while the trace is among the last 10,000 decided', async () => {
    const exporter = new InMemorySpanExporter();
    // Base rate 1: every trace kept, so a late span that is recognised is exported, and one that
    // is not opens a trace of its own (held, not exported).
    const scope = new Llmscope({
      metrics: { defaultMetrics: false },
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      sampling: { tail: { baseRate: 1, routeLatency: false, maxTraces: 100 } },
    });
    const tail = scope.sampling?.tail;
    if (tail === undefined) throw new Error('no tail sampler');
    // A request whose step ends after the response: started inside, ended later.
    const early = scope.startRequest('GET', '/early', {}, undefined);
    let endLate: (() => void) | undefined;
    scope.run(early, () => {
      void step('background', () => new Promise<void>((resolve) => { endLate = resolve; }));
    });
    scope.finishRequest(early, 200);
    // 9,999 more traces decided: the early one is the 10,000th most recent.
    for (let i = 0; i < 9999; i++) {
      const ctx = scope.startRequest('GET', '/x', {}, undefined);
      scope.finishRequest(ctx, 200);
    }
    endLate?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(tail.stats.lateSpans).toBe(1);
    expect(exporter.getFinishedSpans().filter((s) => s.name === 'background')).toHaveLength(1);
    expect(tail.stats.openTraces).toBe(0);
    await scope.shutdown();
  }, 60000);

  test('a dropped trace of one span stores no decision, until a span starts under it after it ended (then that span is late, not held)', async () => {
    const exporter = new InMemorySpanExporter();
    const registry = new Registry();
    const scope = new Llmscope({
      metrics: { registry, defaultMetrics: false },
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      sampling: { tail: { baseRate: 0, routeLatency: false } },
    });
    const tail = scope.sampling?.tail;
    if (tail === undefined) throw new Error('no tail sampler');
    const decided = (tail as unknown as { decided: DecisionMemory }).decided;
    // Later work bound to each request's context (what a callback registered in the handler gets).
    const later: Array<() => void> = [];
    const request = (work: 'none' | 'step' | 'app-span' | 'step-inside'): string => {
      const ctx = scope.startRequest('GET', '/a', {}, undefined);
      scope.run(ctx, () => {
        if (work === 'step') later.push(AsyncResource.bind(() => void step('after-the-response', () => 1)));
        if (work === 'app-span') later.push(AsyncResource.bind(() => trace.getTracer('app').startSpan('app-after-the-response').end()));
        if (work === 'step-inside') void step('inside', () => 1);
      });
      scope.finishRequest(ctx, 200);
      return ctx.traceId as string;
    };
    const quiet = request('none');
    const withStep = request('step');
    const withAppSpan = request('app-span');
    const inside = request('step-inside');
    // Dropped (base rate 0); only the trace that had a span under its root stored its decision.
    expect(tail.stats.decisions.sampled_out).toBe(4);
    expect([quiet, withStep, withAppSpan, inside].map((id) => decided.get(id))).toEqual([undefined, undefined, undefined, false]);
    // Spans start under the two dropped roots after they ended: the decision is stored then, and
    // each span, ending, follows it (late, dropped) instead of opening a trace of its own.
    for (const run of later) run();
    await new Promise((resolve) => setImmediate(resolve));
    expect([withStep, withAppSpan].map((id) => decided.get(id))).toEqual([false, false]);
    expect(tail.stats.lateSpans).toBe(2);
    expect(tail.stats.openTraces).toBe(0);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    // The counter is read from the sampler's own counts at scrape time.
    const samples = parseMetrics(await registry.metrics());
    expect(find(samples, 'llmscope_sampling_traces_total', { decision: 'dropped', reason: 'sampled_out' })[0]?.value).toBe(4);
    expect(find(samples, 'llmscope_sampling_traces_total', { decision: 'kept', reason: 'base_rate' })[0]?.value).toBe(0);
    await scope.shutdown();
  });

  test('a second request continuing the same incoming trace follows the decision already taken for it', async () => {
    const exporter = new InMemorySpanExporter();
    const scope = new Llmscope({
      metrics: { defaultMetrics: false },
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      sampling: { tail: { baseRate: 0, routeLatency: false } },
    });
    const tail = scope.sampling?.tail;
    if (tail === undefined) throw new Error('no tail sampler');
    const traceparent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    // The first fails (kept for its error), the second succeeds: alone it would be dropped.
    const first = scope.startRequest('GET', '/a', { traceparent }, undefined);
    scope.finishRequest(first, 500);
    const second = scope.startRequest('GET', '/a', { traceparent }, undefined);
    scope.finishRequest(second, 200);
    // A request of a new trace that succeeds is dropped (base rate 0).
    const other = scope.startRequest('GET', '/a', {}, undefined);
    scope.finishRequest(other, 200);
    expect(tail.stats.lateSpans).toBe(1);
    expect(tail.stats.decisions).toMatchObject({ error: 1, sampled_out: 1 });
    const exported = exporter.getFinishedSpans();
    expect(exported.map((s) => s.attributes['http.response.status_code']).sort()).toEqual([200, 500]);
    expect(new Set(exported.map((s) => s.spanContext().traceId))).toEqual(new Set(['ab'.repeat(16)]));
    await scope.shutdown();
  });

  test('DecisionMemory remembers at least the last N decisions exactly, and nothing it was not told', () => {
    const rand = lcg(5);
    const hex = '0123456789abcdef';
    const id = (): string => {
      let s = '';
      for (let d = 0; d < 32; d++) s += hex[Math.floor(rand() * 16)];
      return s;
    };
    const memory = new DecisionMemory(10000);
    const ids = Array.from({ length: 35000 }, id);
    ids.forEach((t, i) => memory.set(t, i % 3 === 0));
    // The last 10,000 are remembered, with their own decision.
    for (let i = ids.length - 10000; i < ids.length; i++) expect(memory.get(ids[i] as string)).toBe(i % 3 === 0);
    // The oldest are forgotten (two generations of 10,000: 30,000 and more ago).
    for (let i = 0; i < 5000; i++) expect(memory.get(ids[i] as string)).toBeUndefined();
    // Ids never decided are not mistaken for decided ones, also when their last 7 digits match one.
    for (let i = 0; i < 10000; i++) expect(memory.get(id())).toBeUndefined();
    const twin = `${'0'.repeat(18)}${(ids[ids.length - 1] as string).slice(-14, -7) === '0000000' ? '1111111' : '0000000'}${(ids[ids.length - 1] as string).slice(-7)}`;
    expect(memory.get(twin)).toBeUndefined();
    // A decision taken again replaces the earlier one.
    memory.set(ids[ids.length - 1] as string, false);
    memory.set(ids[ids.length - 2] as string, true);
    expect(memory.get(ids[ids.length - 1] as string)).toBe(false);
    expect(memory.get(ids[ids.length - 2] as string)).toBe(true);
    // Ids sharing the last 7 digits (their slot) but not the 7 before are two entries, each with
    // its own decision (keyed by the slot alone, the later one replaced the earlier: among 10,000
    // random ids, about one run in six lost a decision that way).
    const shared = new DecisionMemory(100);
    const first = `${'0'.repeat(18)}1234567abcdef0`;
    const second = `${'0'.repeat(18)}7654321abcdef0`;
    shared.set(first, true);
    shared.set(second, false);
    expect([shared.get(first), shared.get(second)]).toEqual([true, false]);
    shared.set(first, false);
    expect([shared.get(first), shared.get(second)]).toEqual([false, false]);
    // Ids that are not hex (no OpenTelemetry id, but never trusted) work too.
    memory.set('not-a-hex-trace-id', true);
    memory.set('short', false);
    expect(memory.get('not-a-hex-trace-id')).toBe(true);
    expect(memory.get('short')).toBe(false);
    expect(memory.get('another-id')).toBeUndefined();
  });
});
