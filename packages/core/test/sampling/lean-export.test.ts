/**
 * Lean spans exported as they are (issue 17): when every processor of the export stage reads
 * ended spans only (llmscope's OTLP exporter), llmscope's spans are lean with tail sampling off
 * too, and a kept trace reaches the exporter without SDK spans rebuilt; each lean span is sealed
 * with the SDK's rules (invalid attributes dropped, the provider's span limits). Compared with the
 * SDK's own span (the rules) and with the SDK path (what the OTLP receiver decodes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Attributes, type Link, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanLimits, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { listen, OtlpReceiver, type Listening, type ReceivedSpan } from '@llmscope/testkit';
import { llmscopeSpanProcessor, step, traceLLM, withLlmscope, type LlmscopeHandler } from '@llmscope/node';
import { LeanSpan, type LeanSpanOwner } from '../../src/tracing/lean-span';
import { tracerSpanLimits } from '../../src/tracing/span-limits';

// Limits from the environment, read by the provider llmscope registers: the lean path must apply
// the same ones as the SDK's spans (set before the first instance starts tracing, in this file).
process.env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT = '16';
process.env.OTEL_SPAN_EVENT_COUNT_LIMIT = '2';

const LIMITS: SpanLimits = {
  attributeCountLimit: 4,
  attributeValueLengthLimit: 5,
  eventCountLimit: 2,
  linkCountLimit: 1,
  attributePerEventCountLimit: 1,
  attributePerLinkCountLimit: 1,
};

/** Invalid values, as an app may set them through the API's loose types. */
const invalid = (v: unknown): never => v as never;

const LINK_A: Link = { context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }, attributes: { 'link.kind': 'a', extra: 1 } };
const LINK_B: Link = { context: { traceId: '0af7651916cd43dd8448eb211c80319d', spanId: 'b7ad6b7169203332', traceFlags: 1 }, attributes: { bad: invalid({ nested: true }), 'link.kind': 'b' } };

/** The same calls on any span: what an app and an instrumentation do through the API. */
function record(span: Span): void {
  span.setAttribute('ok.string', 'short');
  span.setAttribute('long.string', 'a value longer than five');
  span.setAttribute('', 'empty key');
  span.setAttribute('object', invalid({ a: 1 }));
  span.setAttribute('mixed.array', invalid(['a', 1]));
  span.setAttribute('string.array', ['abcdefgh', 'ab']);
  span.setAttribute('number', 7);
  span.setAttribute('over.limit.1', true);
  span.setAttribute('over.limit.2', 'x');
  span.setAttribute('ok.string', 'again');
  span.addEvent('first', { 'e.key': 'event value too long', 'e.other': 1 });
  span.addEvent('second', { 'e.bad': invalid({}), 'e.key': 'v' });
  span.addEvent('third');
  span.addLink(LINK_A);
  span.addLink(LINK_B);
}

/** What an exporter reads of an ended span, but its ids and times. */
function exported(span: ReadableSpan) {
  return {
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes, droppedAttributesCount: e.droppedAttributesCount })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links,
    droppedLinksCount: span.droppedLinksCount,
  };
}

describe('sealing a lean span applies the SDK span\'s rules', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanLimits: LIMITS, resource: resourceFromAttributes({ 'service.name': 'limits' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const sdkTracer = provider.getTracer('limits-test');

  function leanSpan(limits: SpanLimits, ended: ReadableSpan[]): LeanSpan {
    const owner: LeanSpanOwner = { resource: resourceFromAttributes({}), instrumentationScope: { name: 'limits-test' }, spanLimits: limits, materialise: () => undefined };
    const context = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
    return new LeanSpan('work', SpanKind.INTERNAL, context, undefined, ROOT_CONTEXT, undefined, undefined, undefined, { acceptsLean: true, onEnd: (s) => ended.push(s) }, owner);
  }

  test('the provider\'s tracer shows its limits (what lean spans apply)', () => {
    expect(tracerSpanLimits(sdkTracer)).toMatchObject(LIMITS);
  });

  test('invalid attributes, counts, truncation, events and links: as the SDK\'s span ends', () => {
    const sdkSpan = sdkTracer.startSpan('work');
    record(sdkSpan);
    sdkSpan.end();
    const [sdk] = memory.getFinishedSpans();
    const ended: ReadableSpan[] = [];
    const lean = leanSpan(LIMITS, ended);
    record(lean);
    lean.end();
    expect(ended).toEqual([lean]);
    lean.seal();
    expect(exported(lean)).toEqual(exported(sdk as ReadableSpan));
    // What the rules did, spelled out (the SDK agrees, above).
    expect(lean.attributes).toEqual({ 'ok.string': 'again', 'long.string': 'a val', 'string.array': ['abcde', 'ab'], number: 7 });
    expect([lean.droppedAttributesCount, lean.droppedEventsCount, lean.droppedLinksCount]).toEqual([2, 1, 1]);
    expect(lean.events.map((e) => [e.name, e.attributes, e.droppedAttributesCount])).toEqual([['second', { 'e.key': 'v' }, 0], ['third', {}, 0]]);
    expect(lean.links).toEqual([{ context: LINK_B.context, attributes: { 'link.kind': 'b' } }]);
    // Sealed once; the start context released.
    expect(lean.parentContext).toBe(ROOT_CONTEXT);
    const attributes = lean.attributes;
    lean.seal();
    expect(lean.attributes).toBe(attributes);
  });

  test('the usual span (valid, under the limits) keeps its own attributes object: no copy', () => {
    const lean = leanSpan(LIMITS, []);
    lean.setAttribute('http.route', '/x');
    lean.setAttribute('http.response.status_code', 200);
    const before: Attributes = lean.attributes;
    lean.end();
    lean.seal();
    expect(lean.attributes).toBe(before);
    expect(lean.droppedAttributesCount).toBe(0);
  });

  test('a span not yet ended is not sealed', () => {
    const lean = leanSpan(LIMITS, []);
    lean.setAttribute('object', invalid({ a: 1 }));
    lean.seal();
    expect(lean.sealed).toBe(false);
    expect(lean.attributes).toHaveProperty('object');
  });
});

let active: Span | undefined;

async function app(req: IncomingMessage, res: ServerResponse): Promise<void> {
  active = trace.getActiveSpan();
  active?.setAttribute('app.note', 'a note longer than sixteen characters');
  active?.setAttribute('app.invalid', invalid({ nested: true }));
  for (let i = 0; i < 3; i++) active?.addEvent(`app.event.${i}`, { i });
  step('embed_query', () => [0.1, 0.2]);
  // Another instrumentation's span on the same provider, under llmscope's step: an SDK span.
  step('prompt_construction', () => trace.getTracer('app-instrumentation').startSpan('template.render').end());
  await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({ usage: { prompt_tokens: 12, completion_tokens: 5 } }));
  res.statusCode = req.url === '/fail' ? 503 : 200;
  res.end('ok');
}

/** A received span without its ids and times, its parent by name. */
function shape(span: ReceivedSpan, all: ReceivedSpan[]) {
  return {
    name: span.name,
    kind: span.kind,
    parent: span.parentSpanId === '' ? undefined : all.find((s) => s.spanId === span.parentSpanId)?.name ?? 'missing',
    attributes: span.attributes,
    events: span.events,
    status: span.status,
    resource: span.resource,
    scope: span.scope,
  };
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

describe('tail sampling off, the OTLP exporter the only consumer: lean spans exported as they are', () => {
  let receiver: OtlpReceiver;
  let server: Listening;
  let handler: LlmscopeHandler;

  beforeAll(async () => {
    receiver = await new OtlpReceiver().start();
    handler = withLlmscope(app, {
      tracing: { printTraces: false },
      sampling: { tail: false },
      exporters: { otlp: { url: receiver.tracesUrl }, queue: { scheduledDelayMs: 20 } },
    });
    server = await listen(handler);
  });
  afterAll(async () => {
    await handler.llmscope.shutdown();
    await server.close();
    await receiver.close();
    delete process.env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT;
    delete process.env.OTEL_SPAN_EVENT_COUNT_LIMIT;
  });

  async function request(path: string): Promise<{ traceId: string; lean: boolean; spans: ReceivedSpan[] }> {
    const res = await fetch(`${server.url}${path}`);
    await res.text();
    const traceId = res.headers.get('x-trace-id') ?? '';
    const lean = active instanceof LeanSpan;
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.traceId === traceId && s.parentSpanId === ''));
    return { traceId, lean, spans: spans.filter((s) => s.traceId === traceId) };
  }

  test('the spans are lean, and reach the receiver as the SDK path sends them', async () => {
    expect(llmscopeSpanProcessor.leanSink?.acceptsLean).toBe(true);
    const lean = await request('/chat');
    const leanFail = await request('/fail');
    expect(lean.lean).toBe(true);
    // A second consumer of llmscope's spans: SDK spans again, through the same exporter.
    const other: SpanProcessor = { onStart() {}, onEnd() {}, async forceFlush() {}, async shutdown() {} };
    llmscopeSpanProcessor.add(other);
    let sdk: Awaited<ReturnType<typeof request>>;
    let sdkFail: Awaited<ReturnType<typeof request>>;
    try {
      sdk = await request('/chat');
      sdkFail = await request('/fail');
    } finally {
      llmscopeSpanProcessor.remove(other);
    }
    expect(sdk.lean).toBe(false);
    expect(lean.spans.map((s) => s.name).sort()).toEqual(['GET', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'template.render']);
    const leanShape = lean.spans.map((s) => shape(s, lean.spans)).sort(byName);
    expect(leanShape).toEqual(sdk.spans.map((s) => shape(s, sdk.spans)).sort(byName));
    expect(leanFail.spans.map((s) => shape(s, leanFail.spans)).sort(byName)).toEqual(sdkFail.spans.map((s) => shape(s, sdkFail.spans)).sort(byName));
    // The environment's limits, applied on the lean path as the SDK applies them.
    const root = lean.spans.find((s) => s.parentSpanId === '');
    expect(root?.attributes['app.note']).toBe('a note longer th');
    expect(root?.attributes).not.toHaveProperty('app.invalid');
    expect(root?.events.map((e) => e.name)).toEqual(['app.event.1', 'app.event.2']);
    expect(root?.spanId).toBe(lean.spans.find((s) => s.name === 'embed_query')?.parentSpanId);
  });

  test('a processor that wants SDK spans joins the export stage: llmscope\'s spans are SDK spans again', async () => {
    const memory = new InMemorySpanExporter();
    const printerLike = new SimpleSpanProcessor(memory);
    const stage = handler.llmscope.sampling?.stage;
    if (stage === undefined) throw new Error("no export stage");
    expect(stage.takesEndedSpans).toBe(true);
    stage.add(printerLike);
    try {
      expect(stage.takesEndedSpans).toBe(false);
      const r = await request('/chat');
      expect(r.lean).toBe(false);
      // request() waited for the root span at the receiver: it ended last, and the in-memory
      // exporter had every span of the trace synchronously by then.
      expect(memory.getFinishedSpans().filter((s) => s.spanContext().traceId === r.traceId).map((s) => s.name).sort()).toEqual(r.spans.map((s) => s.name).sort());
    } finally {
      stage.remove(printerLike);
    }
    expect(stage.takesEndedSpans).toBe(true);
    expect((await request('/chat')).lean).toBe(true);
  });
});
