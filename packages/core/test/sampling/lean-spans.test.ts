/**
 * The lean span path under tail sampling (issue 17 item 3): when the tail sampler is the only
 * consumer of llmscope's spans, they are LeanSpans (no SDK span object per span), and a kept
 * trace reaches the exporters as SDK spans. Compared here field by field with the SDK path
 * (the same requests, with a second consumer attached so that llmscope builds SDK spans).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { listen, type Listening } from '@llmscope/testkit';
import { llmscopeSpanProcessor, retrievalAttributes, step, traceLLM, withLlmscope, type LlmscopeHandler } from '@llmscope/node';
import { LeanSpan } from '../../src/tracing/lean-span';

interface Seen {
  request: Span | undefined;
  llm: Span | undefined;
}

let seen: Seen = { request: undefined, llm: undefined };
const received: (string | undefined)[] = [];

function app(down: () => string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    seen = { request: trace.getActiveSpan(), llm: undefined };
    // What an app does with the active span through the API.
    seen.request?.setAttribute('app.attribute', 7);
    seen.request?.addEvent('app.event', { 'app.key': 'v' });
    step('embed_query', () => [0.1, 0.2, 0.3]);
    await step('vector_search', async () => {
      await fetch(`${down()}/search`);
      return ['a', 'b'];
    }, retrievalAttributes({ dataSourceId: 'kb', topK: 2 }));
    try {
      step('rerank', () => {
        throw new TypeError('reranker down');
      });
    } catch {
      // The app carries on without reranking.
    }
    // Another instrumentation's span on the same provider, under llmscope's step.
    step('prompt_construction', () => trace.getTracer('app-instrumentation').startSpan('template.render').end());
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
      seen.llm = trace.getActiveSpan();
      return { usage: { prompt_tokens: 12, completion_tokens: 5 } };
    });
    res.statusCode = req.url === '/fail' ? 503 : 200;
    res.end('ok');
  };
}

/** Everything of an exported span but its ids and times, parents by name. */
function shape(span: ReadableSpan, byId: Map<string, ReadableSpan>) {
  const attributes = { ...span.attributes };
  const events = span.events.map((e) => {
    const a = { ...e.attributes };
    // The stack of the same throw differs in its async frames between two requests.
    if (typeof a['exception.stacktrace'] === 'string') a['exception.stacktrace'] = (a['exception.stacktrace'] as string).split('\n')[0];
    return { name: e.name, attributes: a, droppedAttributesCount: e.droppedAttributesCount };
  });
  const parent = span.parentSpanContext;
  return {
    name: span.name,
    kind: span.kind,
    parent: parent === undefined ? undefined : byId.get(parent.spanId)?.name ?? (parent.isRemote === true ? 'remote' : 'missing'),
    attributes,
    events,
    status: span.status,
    links: span.links.length,
    traceFlags: span.spanContext().traceFlags,
    resource: span.resource.attributes,
    scope: span.instrumentationScope,
    dropped: [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount],
    ended: span.ended,
  };
}

function traceShape(spans: ReadableSpan[]) {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  return spans.map((s) => shape(s, byId)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function hrMs(t: [number, number]): number {
  return t[0] * 1000 + t[1] / 1e6;
}

describe('lean spans under tail sampling', () => {
  const memory = new InMemorySpanExporter();
  let downstream: Listening;
  let server: Listening;
  let handler: LlmscopeHandler;

  beforeAll(async () => {
    downstream = await listen((req, res) => {
      received.push(req.headers.traceparent as string | undefined);
      res.end('ok');
    });
    // Tail sampling on (its default), every trace kept outside production; no printer.
    handler = withLlmscope(app(() => downstream.url), { tracing: { printTraces: false, spanProcessors: [new SimpleSpanProcessor(memory)] } });
    server = await listen(handler);
  });
  afterAll(async () => {
    await handler.llmscope.shutdown();
    await server.close();
    await downstream.close();
  });

  async function request(path: string): Promise<{ traceId: string; spans: ReadableSpan[]; window: [number, number] }> {
    memory.reset();
    received.length = 0;
    const from = Date.now();
    const res = await fetch(`${server.url}${path}`);
    await res.text();
    const traceId = res.headers.get('x-trace-id') ?? '';
    // The server span ends when the response closes, just after the client has it.
    for (let i = 0; i < 100 && !memory.getFinishedSpans().some((s) => s.spanContext().traceId === traceId && s.parentSpanContext === undefined); i++) await new Promise((r) => setTimeout(r, 10));
    return { traceId, spans: memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId), window: [from, Date.now()] };
  }

  test('the tail sampler is the only consumer: llmscope\'s spans are lean, the exported ones SDK spans with the same ids', async () => {
    expect(handler.llmscope.samplingStats()).toBeDefined();
    expect(llmscopeSpanProcessor.leanSink).toBeDefined();
    const { traceId, spans, window } = await request('/chat');
    expect(seen.request).toBeInstanceOf(LeanSpan);
    expect(seen.llm).toBeInstanceOf(LeanSpan);
    // Request, 4 steps, the outgoing call, the foreign span, the LLM call.
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'rerank', 'template.render', 'vector_search']);
    for (const s of spans) {
      expect(s).not.toBeInstanceOf(LeanSpan);
      expect(s.ended).toBe(true);
      expect(hrMs(s.duration)).toBeGreaterThanOrEqual(0);
      expect(hrMs(s.startTime)).toBeGreaterThanOrEqual(window[0] - 1);
      expect(hrMs(s.endTime)).toBeLessThanOrEqual(window[1] + 1);
    }
    const byName = new Map(spans.map((s) => [s.kind === SpanKind.CLIENT && s.name === 'GET' ? 'client' : s.name, s]));
    expect(byName.get('GET')?.spanContext().spanId).toBe(seen.request?.spanContext().spanId);
    expect(byName.get('GET')?.parentSpanContext).toBeUndefined();
    expect(byName.get('chat gpt-4o-mini')?.spanContext().spanId).toBe(seen.llm?.spanContext().spanId);
    // The outgoing call's span, a child of the step it was made in, is what it propagated.
    const client = byName.get('client');
    expect(client?.parentSpanContext?.spanId).toBe(byName.get('vector_search')?.spanContext().spanId);
    expect(received[0]).toBe(`00-${traceId}-${client?.spanContext().spanId}-01`);
    expect(byName.get('template.render')?.parentSpanContext?.spanId).toBe(byName.get('prompt_construction')?.spanContext().spanId);
    expect(byName.get('rerank')?.status.code).toBe(SpanStatusCode.ERROR);
    expect(byName.get('vector_search')?.attributes['llmscope.retrieval.documents_returned']).toBe(2);
  });

  test('a kept trace is exported as the SDK path exports it, field by field', async () => {
    const lean = await request('/chat');
    expect(seen.request).toBeInstanceOf(LeanSpan);
    const leanFail = await request('/fail');
    // A second consumer of llmscope's spans: they are SDK spans again.
    const other: SpanProcessor = { onStart() {}, onEnd() {}, async forceFlush() {}, async shutdown() {} };
    llmscopeSpanProcessor.add(other);
    try {
      expect(llmscopeSpanProcessor.leanSink).toBeUndefined();
      const sdk = await request('/chat');
      expect(seen.request).not.toBeInstanceOf(LeanSpan);
      const sdkFail = await request('/fail');
      expect(traceShape(lean.spans)).toEqual(traceShape(sdk.spans));
      expect(traceShape(leanFail.spans)).toEqual(traceShape(sdkFail.spans));
    } finally {
      llmscopeSpanProcessor.remove(other);
    }
    expect(llmscopeSpanProcessor.leanSink).toBeDefined();
  });

  test('an incoming traceparent: the request span\'s parent is remote, the trace id continued', async () => {
    const parent = '4bf92f3577b34da6a3ce929d0e0e4736';
    memory.reset();
    const res = await fetch(`${server.url}/in`, { headers: { traceparent: `00-${parent}-00f067aa0ba902b7-01` } });
    await res.text();
    const serverSpan = (): ReadableSpan | undefined => memory.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    for (let i = 0; i < 100 && serverSpan() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    const root = serverSpan();
    expect(root?.spanContext().traceId).toBe(parent);
    expect(root?.parentSpanContext).toMatchObject({ traceId: parent, spanId: '00f067aa0ba902b7', isRemote: true });
  });
});

describe('lean spans: a dropped trace builds nothing for the exporters, the rules read lean spans', () => {
  const memory = new InMemorySpanExporter();
  let server: Listening;
  let handler: LlmscopeHandler;
  /** What the priority predicate saw of each trace it was asked about. */
  const asked: { lean: boolean; names: string[] }[] = [];
  let active: Span | undefined;

  beforeAll(async () => {
    handler = withLlmscope(async (req, res) => {
      active = trace.getActiveSpan();
      step(req.url === '/keep' ? 'keep_me' : 'ordinary', () => 1);
      res.end('ok');
    }, {
      tracing: { printTraces: false, spanProcessors: [new SimpleSpanProcessor(memory)] },
      sampling: {
        tail: {
          baseRate: 0, routeLatency: false,
          priority: {
            when: (t) => {
              asked.push({ lean: t.spans.every((s) => s instanceof LeanSpan), names: t.spans.map((s) => s.name).sort() });
              return t.spans.some((s) => s.name === 'keep_me');
            },
          },
        },
      },
    });
    server = await listen(handler);
  });
  afterAll(async () => {
    await handler.llmscope.shutdown();
    await server.close();
  });

  test('dropped: nothing exported, the ids still propagated; kept by the predicate: exported as SDK spans', async () => {
    expect(llmscopeSpanProcessor.leanSink).toBeDefined();
    const plain = await fetch(`${server.url}/plain`);
    await plain.text();
    expect(active).toBeInstanceOf(LeanSpan);
    expect(plain.headers.get('x-trace-id')).toBe(active?.spanContext().traceId);
    const keep = await fetch(`${server.url}/keep`);
    await keep.text();
    const keptTrace = keep.headers.get('x-trace-id');
    for (let i = 0; i < 100 && memory.getFinishedSpans().length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    // Both traces were decided (the server span ends when the response closes).
    for (let i = 0; i < 100 && asked.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    // In either order: each server span ends when its response closes.
    expect(asked).toHaveLength(2);
    expect(asked).toEqual(expect.arrayContaining([{ lean: true, names: ['GET', 'ordinary'] }, { lean: true, names: ['GET', 'keep_me'] }]));
    const exported = memory.getFinishedSpans();
    expect(exported.map((s) => s.name).sort()).toEqual(['GET', 'keep_me']);
    for (const s of exported) {
      expect(s).not.toBeInstanceOf(LeanSpan);
      expect(s.spanContext().traceId).toBe(keptTrace);
    }
    expect(handler.llmscope.samplingStats()?.decisions).toMatchObject({ priority: 1, sampled_out: 1 });
  });
});
