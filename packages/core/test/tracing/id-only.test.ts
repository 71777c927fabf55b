/**
 * Tracing on with nothing consuming spans (no exporter, printer, `tracing.spanProcessors` or
 * foreign provider; NODE_ENV=production): requests, steps and LLM calls get non-recording spans
 * that still carry W3C ids, so the trace id header, log lines, outgoing `traceparent` and LLM
 * metrics and records work as before. Attaching a consumer restores recording spans.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, trace, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { listen, memoryLogger, waitFor, type Listening } from '@llmscope/testkit';
import { llmscopeSpanProcessor, step, traceLLM, withLlmscope, type LlmCallRecord, type LlmscopeHandler } from '@llmscope/node';

interface Seen {
  request: Span | undefined;
  step: Span | undefined;
  llm: Span | undefined;
  /** `isRecording()` of each, read while it was active (an ended span does not record either). */
  recording: boolean[];
}

const received: { path: string; traceparent: string | undefined }[] = [];
let downstream: Listening;
let seen: Seen;

function app(down: () => string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    seen = { request: trace.getActiveSpan(), step: undefined, llm: undefined, recording: [] };
    seen.recording.push(seen.request?.isRecording() === true);
    await step('vector_search', async () => {
      seen.step = trace.getActiveSpan();
      seen.recording.push(seen.step?.isRecording() === true);
      await fetch(`${down()}/search`);
    });
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
      seen.llm = trace.getActiveSpan();
      seen.recording.push(seen.llm?.isRecording() === true);
      return { usage: { prompt_tokens: 12, completion_tokens: 5 } };
    });
    res.end(req.url);
  };
}

function parse(traceparent: string | undefined): { traceId: string; spanId: string; flags: string } {
  const [, traceId = '', spanId = '', flags = ''] = (traceparent ?? '').split('-');
  return { traceId, spanId, flags };
}

describe('tracing with nothing consuming spans', () => {
  const env = process.env.NODE_ENV;
  let server: Listening;
  let handler: LlmscopeHandler;
  const records: LlmCallRecord[] = [];
  const log = memoryLogger();

  beforeAll(async () => {
    process.env.NODE_ENV = 'production';
    downstream = await listen((req, res) => {
      received.push({ path: req.url ?? '', traceparent: req.headers.traceparent as string | undefined });
      res.end('ok');
    });
    // Defaults, plus a logger (log lines consume no spans).
    handler = withLlmscope(app(() => downstream.url), { logging: { logger: log.logger } });
    handler.llmscope.onLlmCall((r) => records.push(r));
    server = await listen(handler);
  });
  afterAll(async () => {
    await handler.llmscope.shutdown();
    await server.close();
    await downstream.close();
    process.env.NODE_ENV = env;
  });

  test('no printer by default in production, and no consumer of llmscope spans', () => {
    expect(handler.llmscope.options.tracing?.printTraces).toBe(false);
    expect(llmscopeSpanProcessor.ownSpanConsumers).toBe(0);
  });

  test('a request: trace id header, log line, outgoing traceparent, LLM metrics and record; no recording span', async () => {
    received.length = 0;
    const res = await fetch(`${server.url}/chat`);
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-trace-id') ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe('0'.repeat(32));

    // Every span the handler saw: present, not recording, valid ids, one trace, sampled.
    const { request, step: stepSpan, llm } = seen;
    expect(seen.recording).toEqual([false, false, false]);
    for (const span of [request, stepSpan, llm]) {
      expect(span).toBeDefined();
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span?.spanContext().traceFlags).toBe(1);
    }
    const ids = new Set([request, stepSpan, llm].map((s) => s?.spanContext().spanId));
    expect(ids.size).toBe(3);

    // The outgoing call continues the trace, with the step as parent (no CLIENT span of its own).
    const sent = parse(received.find((r) => r.path === '/search')?.traceparent);
    expect(sent).toEqual({ traceId, spanId: stepSpan?.spanContext().spanId, flags: '01' });

    // The http_request log line carries the trace id.
    // Written when the response has ended, which may be after the client has it: awaited (a
    // fixed 50 ms was not always enough on a loaded CI machine).
    const line = await waitFor(() => log.lines.find((l) => l.event === 'http_request' && l.trace_id === traceId), 10_000, 'the http_request log line');
    expect(line).toBeDefined();

    // The LLM call reached the record path: its record (trace and span ids of its span) and metrics.
    const record = records.find((r) => r.traceId === traceId);
    expect(record).toBeDefined();
    expect(record?.spanId).toBe(llm?.spanContext().spanId);
    expect(record?.inputTokens).toBe(12);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*model="gpt-4o-mini",token_type="input"\} 12\n/);
    expect(metrics).toMatch(/http_server_request_duration_seconds_count\{method="GET",route="unmatched",status_code="200"\} [1-9]/);
  });

  test('an incoming traceparent is continued, its sampled flag kept', async () => {
    const parent = '4bf92f3577b34da6a3ce929d0e0e4736';
    for (const flags of ['01', '00']) {
      received.length = 0;
      const res = await fetch(`${server.url}/in`, { headers: { traceparent: `00-${parent}-00f067aa0ba902b7-${flags}` } });
      expect(res.headers.get('x-trace-id')).toBe(parent);
      expect(seen.request?.spanContext().traceId).toBe(parent);
      expect(seen.request?.spanContext().traceFlags).toBe(Number(flags));
      const sent = parse(received.find((r) => r.path === '/search')?.traceparent);
      expect(sent.traceId).toBe(parent);
      expect(sent.flags).toBe(flags);
    }
  });

  test('under another instrumentation\'s recording span a step records (the trace stays whole); suppressed tracing gives the invalid context', () => {
    const outer = trace.getTracer('app-instrumentation').startSpan('outer');
    expect(outer.isRecording()).toBe(true);
    const inner = context.with(trace.setSpan(context.active(), outer), () => step('inner', () => {
      const span = trace.getActiveSpan();
      return { recording: span?.isRecording(), traceId: span?.spanContext().traceId, parent: (span as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId };
    }));
    outer.end();
    expect(inner).toEqual({ recording: true, traceId: outer.spanContext().traceId, parent: outer.spanContext().spanId });
    const suppressed = context.with(suppressTracing(context.active()), () => step('hidden', () => trace.getActiveSpan()?.spanContext()));
    expect(suppressed?.traceId).toBe('0'.repeat(32));
  });

  test('a span processor attached later restores recording spans', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor(exporter);
    llmscopeSpanProcessor.add(processor);
    try {
      const res = await fetch(`${server.url}/later`);
      const traceId = res.headers.get('x-trace-id');
      expect(llmscopeSpanProcessor.ownSpanConsumers).toBe(1);
      expect(seen.recording).toEqual([true, true, true]);
      const names = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId).map((s) => s.name).sort();
      expect(names).toEqual(expect.arrayContaining(['chat gpt-4o-mini', 'vector_search']));
    } finally {
      llmscopeSpanProcessor.remove(processor);
    }
    expect(llmscopeSpanProcessor.ownSpanConsumers).toBe(0);
  });
});
