import { createContextKey, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { RequestOtelContext } from '../../src/context/request-otel-context';

const OTHER = createContextKey('test.other');
const MINE = createContextKey('test.mine');
const LATER = createContextKey('test.later');
const parentSpan = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED });
const span = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'c'.repeat(16), traceFlags: TraceFlags.SAMPLED });

/** The context the API builds for the same entries (what RequestOtelContext stands for). */
function apiBuilt(parent: Context): Context {
  return trace.setSpan(parent, span).setValue(MINE, 'request');
}

describe('RequestOtelContext', () => {
  const parent = trace.setSpan(ROOT_CONTEXT.setValue(OTHER, 42), parentSpan);

  test('answers as the API-built context: its span, its entry, the parent\'s entries', () => {
    const ctx = new RequestOtelContext(parent, span, MINE, 'request');
    const expected = apiBuilt(parent);
    for (const key of [MINE, OTHER, LATER]) expect(ctx.getValue(key)).toBe(expected.getValue(key));
    expect(trace.getSpan(ctx)).toBe(span);
    expect(ctx.getValue(MINE)).toBe('request');
    expect(ctx.getValue(OTHER)).toBe(42);
  });

  test('without a span of its own, the parent\'s span shows through', () => {
    const ctx = new RequestOtelContext(parent, undefined, MINE, 'request');
    expect(trace.getSpan(ctx)).toBe(parentSpan);
  });

  test('derived contexts keep every entry, replace and delete as BaseContext does, and leave it unchanged', () => {
    const ctx = new RequestOtelContext(parent, span, MINE, 'request');
    const child = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'd'.repeat(16), traceFlags: TraceFlags.SAMPLED });
    const derived = trace.setSpan(ctx, child).setValue(LATER, 'x');
    expect(trace.getSpan(derived)).toBe(child);
    expect(derived.getValue(MINE)).toBe('request');
    expect(derived.getValue(OTHER)).toBe(42);
    expect(derived.getValue(LATER)).toBe('x');
    expect(ctx.deleteValue(MINE).getValue(MINE)).toBeUndefined();
    expect(ctx.deleteValue(MINE).getValue(OTHER)).toBe(42);
    expect(ctx.setValue(MINE, 'replaced').getValue(MINE)).toBe('replaced');
    // The original is immutable, like every Context.
    expect(ctx.getValue(MINE)).toBe('request');
    expect(trace.getSpan(ctx)).toBe(span);
    expect(ctx.getValue(LATER)).toBeUndefined();
  });

  test('propagates its span in traceparent', () => {
    const carrier: Record<string, string> = {};
    new W3CTraceContextPropagator().inject(new RequestOtelContext(parent, span, MINE, 'request'), carrier, { set: (c, k, v) => { c[k] = v; } });
    expect(carrier.traceparent).toBe(`00-${'a'.repeat(32)}-${'c'.repeat(16)}-01`);
  });
});
