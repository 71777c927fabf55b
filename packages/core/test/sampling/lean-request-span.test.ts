/**
 * A request's lean span under tail sampling takes the request's own clock readings: it starts at
 * the request's start and ends at the reading its duration metric came from, and its times, built
 * only when read, are what the SDK's span would carry (end = start + duration, `[0, 0]` and
 * `[-1, -1]` until it ends). It takes the attributes built for it, and an id-only span (nothing
 * reads the spans) is started without any.
 */
import { trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { find, parseMetrics } from '@llmscope/testkit';
import { Registry } from 'prom-client';
import { Llmscope, type TraceSummary } from '../../src';
import { LeanSpan } from '../../src/tracing/lean-span';

function hrMs(t: readonly [number, number]): number {
  return t[0] * 1000 + t[1] / 1e6;
}

describe('a request\'s lean span', () => {
  // Instances of a test that failed midway are shut down too: the tracer provider is process-wide.
  const scopes: Llmscope[] = [];
  const track = (scope: Llmscope): Llmscope => {
    scopes.push(scope);
    return scope;
  };
  afterEach(async () => {
    for (const scope of scopes.splice(0)) await scope.shutdown();
  });

  test('starts and ends on the request\'s readings; its times are built when read and agree with the duration metric', async () => {
    const exporter = new InMemorySpanExporter();
    const registry = new Registry();
    const seen: TraceSummary[] = [];
    const scope = track(new Llmscope({
      metrics: { registry, defaultMetrics: false },
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      // Kept by the predicate (the base rate keeps nothing), which sees the lean root.
      sampling: { tail: { baseRate: 0, routeLatency: false, priority: { when: (t) => seen.push(t) > 0 } } },
    }));
    const before = Date.now();
    const ctx = scope.startRequest('GET', '/items/7?q=secret', {}, undefined);
    let active: Span | undefined;
    scope.run(ctx, () => {
      active = trace.getActiveSpan();
    });
    expect(active).toBeInstanceOf(LeanSpan);
    const lean = active as LeanSpan;
    // Not ended: the SDK's values for an open span.
    expect(lean.endTime).toEqual([0, 0]);
    expect(lean.duration).toEqual([-1, -1]);
    expect(lean.durationMs).toBe(-1);
    // Its attributes, path without query.
    expect(lean.attributes).toEqual({ 'http.request.method': 'GET', 'url.path': '/items/7', 'url.scheme': 'http' });
    const busyUntil = performance.now() + 3;
    while (performance.now() < busyUntil) { /* a request that takes 3 ms */ }
    scope.setRoute(ctx, '/items/:id');
    scope.finishRequest(ctx, 200);
    const after = Date.now();

    expect(seen).toHaveLength(1);
    const summary = seen[0] as TraceSummary;
    expect(summary.root).toBe(lean);
    expect(summary.durationMs).toBe(lean.durationMs);
    expect(lean.durationMs).toBeGreaterThanOrEqual(3);
    // The duration metric and the span come from the same end reading.
    const samples = parseMetrics(await registry.metrics());
    const sum = find(samples, 'http_server_request_duration_seconds_sum', { route: '/items/:id' })[0]?.value;
    expect(sum).toBeCloseTo(lean.durationMs / 1000, 12);
    // The HrTimes, built now, are consistent with it and with the wall clock.
    expect(hrMs(lean.duration)).toBeCloseTo(lean.durationMs, 6);
    expect(lean.duration[1]).toBeLessThan(1e9);
    expect(hrMs(lean.endTime) - hrMs(lean.startTime)).toBeCloseTo(lean.durationMs, 3);
    // On the wall clock through an offset measured with Date.now() (whole milliseconds): within 1 ms.
    expect(hrMs(lean.startTime)).toBeGreaterThanOrEqual(before - 1);
    expect(hrMs(lean.endTime)).toBeLessThanOrEqual(after + 1);
    // The same object every read (built once).
    expect(lean.startTime).toBe(lean.startTime);
    expect(lean.endTime).toBe(lean.endTime);

    // Exported as kept, with those times and the attributes set at the end.
    const [exported] = exporter.getFinishedSpans() as ReadableSpan[];
    expect(exported?.spanContext().spanId).toBe(lean.spanContext().spanId);
    expect(exported?.startTime).toEqual(lean.startTime);
    expect(exported?.endTime).toEqual(lean.endTime);
    expect(exported?.attributes).toMatchObject({ 'http.route': '/items/:id', 'http.response.status_code': 200, 'url.path': '/items/7' });
  });

  test('a span ended at a given time keeps the SDK\'s rules (an end before the start ends at the start)', async () => {
    const exporter = new InMemorySpanExporter();
    const scope = track(new Llmscope({ metrics: { defaultMetrics: false }, tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] } }));
    const ctx = scope.startRequest('GET', '/', {}, undefined);
    let lean: LeanSpan | undefined;
    scope.run(ctx, () => {
      lean = trace.getActiveSpan() as LeanSpan;
    });
    const start = lean?.startTime as [number, number];
    lean?.end([start[0] - 10, 0]);
    expect(lean?.endTime).toEqual(start);
    expect(lean?.duration).toEqual([0, 0]);
    expect(lean?.durationMs).toBe(0);
    // Ended already: the request's end changes nothing on it.
    scope.finishRequest(ctx, 200);
    expect(lean?.endTime).toEqual(start);
  });

  test('starts on the wall clock through an offset measured at most once a second, so a wall-clock step shows within a second', async () => {
    const exporter = new InMemorySpanExporter();
    const scope = track(new Llmscope({ metrics: { defaultMetrics: false }, tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] } }));
    const startOf = (): number => {
      const ctx = scope.startRequest('GET', '/', {}, undefined);
      let span: LeanSpan | undefined;
      scope.run(ctx, () => {
        span = trace.getActiveSpan() as LeanSpan;
      });
      scope.finishRequest(ctx, 200);
      expect(span).toBeInstanceOf(LeanSpan);
      return hrMs((span as LeanSpan).startTime);
    };
    // Both clocks are set, never read: which span measures the offset again and where each span
    // starts follow from the set readings alone, however fast or slow this machine runs the test.
    const hour = 3_600_000;
    let monotonic = performance.now() + 10_000;
    let wall = Date.now();
    const steady = jest.spyOn(performance, 'now').mockImplementation(() => monotonic);
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => wall);
    try {
      // Past the offset's lifetime, so that this span measures it: it starts at the wall clock.
      expect(startOf()).toBeCloseTo(wall, 1);
      const measuredAt = wall;
      // The wall clock steps an hour ahead, half a second later: within the second, spans still
      // start on the old offset (the monotonic clock's half second on the old wall clock).
      monotonic += 500;
      wall += hour + 500;
      expect(startOf()).toBeCloseTo(measuredAt + 500, 1);
      // Past the second, the offset is measured again and follows the step.
      monotonic += 600;
      wall += 600;
      expect(startOf()).toBeCloseTo(wall, 1);
    } finally {
      clock.mockRestore();
      steady.mockRestore();
    }
  });

  test('with nothing reading the spans, the request span is id-only and carries no attributes', async () => {
    const scope = track(new Llmscope({ metrics: { defaultMetrics: false } }));
    const ctx = scope.startRequest('GET', '/x', {}, undefined);
    expect(ctx.span).toBeDefined();
    expect(ctx.span).not.toBeInstanceOf(LeanSpan);
    expect(ctx.span?.isRecording()).toBe(false);
    expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    scope.finishRequest(ctx, 200);
  });
});
