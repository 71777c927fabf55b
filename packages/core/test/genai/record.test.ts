/**
 * One LLM-call record, one road: every call (traceLLM, SDK wrapper, another tool's span) becomes
 * one record handed to the same sinks, tracing on or off, and adds up on its request.
 */
import express from 'express';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { llmscope, runWithContext, step, traceLLM, type LlmCallRecord, type LlmscopeOptions } from '@llmscope/express';
import { SentryServer, listen, memoryExporter, memoryLogger, parseMetrics, find, waitForSpans, type Listening } from '@llmscope/testkit';
import { TreePrinterProcessor } from '../../src';

class RateLimitError extends Error {
  override name = 'RateLimitError';
}

const COMPLETION = {
  id: 'chatcmpl-9', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 },
};

// gpt-4o-mini: $0.15 / M input, $0.60 / M output → 1000 × 0.15e-6 + 200 × 0.6e-6.
const CALL_COST = 0.00027;

interface App {
  url: string;
  mw: ReturnType<typeof llmscope>;
  records: LlmCallRecord[];
  lines: Record<string, unknown>[];
  listening: Listening;
}

async function start(options: LlmscopeOptions<express.Request>): Promise<App> {
  const { logger, lines } = memoryLogger();
  const app = express();
  const mw = llmscope({ ...options, logging: { logger } });
  const records: LlmCallRecord[] = [];
  mw.llmscope.onLlmCall((r) => records.push(r));
  app.use(mw);
  app.get('/two-calls', async (_req, res) => {
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', temperature: 0.1 }, async () => COMPLETION);
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => COMPLETION);
    res.json({ ok: true });
  });
  app.get('/llm-fails', async () => {
    await traceLLM({ model: 'gpt-4o', provider: 'openai' }, async () => {
      throw new RateLimitError('slow down');
    });
  });
  app.get('/step-fails', async (_req, res) => {
    try {
      await step('vector_search', async () => {
        throw new TypeError('index offline');
      });
    } catch {
      res.status(503).json({ degraded: true });
    }
  });
  const listening = await listen(app);
  return { url: listening.url, mw, records, lines, listening };
}

async function stop(app: App): Promise<void> {
  await app.mw.llmscope.shutdown();
  await app.listening.close();
}

describe('one LLM-call record', () => {
  const exporter = memoryExporter();
  let sentry: SentryServer;
  beforeAll(async () => {
    sentry = await new SentryServer().start();
  });
  afterAll(() => sentry.close());
  beforeEach(() => exporter.reset());

  test.each([['tracing on', {}], ['tracing off', { tracing: false as const }]])('%s: the same records, metrics, log lines and Sentry events', async (_name, extra) => {
    const app = await start({ exporters: { sentry: { dsn: sentry.dsn } }, ...extra });
    const before = sentry.events.length;
    try {
      const ok = await fetch(`${app.url}/two-calls`, { headers: { 'x-user-id': 'u-1', 'x-session-id': 's-1' } });
      expect(ok.status).toBe(200);
      const failed = await fetch(`${app.url}/llm-fails`, { headers: { 'x-user-id': 'u-2' } });
      expect(failed.status).toBe(500);

      // Records: one per call, priced once, the request's context on each.
      expect(app.records).toHaveLength(3);
      const [first, second, third] = app.records as [LlmCallRecord, LlmCallRecord, LlmCallRecord];
      expect(first).toMatchObject({
        operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18', responseId: 'chatcmpl-9',
        finishReasons: ['stop'], temperature: 0.1, inputTokens: 1000, outputTokens: 200, outcome: 'ok', retries: 0,
        userId: 'u-1', sessionId: 's-1', source: 'llmscope', usageEstimated: false,
      });
      expect(first.costUsd).toBeCloseTo(CALL_COST, 10);
      expect(second.costUsd).toBeCloseTo(CALL_COST, 10);
      expect(third).toMatchObject({ outcome: 'error', errorType: 'RateLimitError', userId: 'u-2', inputTokens: undefined, costUsd: undefined });
      expect(third.error).toBeInstanceOf(RateLimitError);
      if ('tracing' in extra) {
        expect(first.traceId).toBeUndefined();
      } else {
        expect(first.traceId).toBe(ok.headers.get('x-trace-id'));
        expect(first.spanId).toMatch(/^[0-9a-f]{16}$/);
      }

      // Metrics from the same records.
      const s = parseMetrics(await app.mw.llmscope.registry!.metrics());
      expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini', outcome: 'ok' })[0]?.value).toBe(2);
      expect(find(s, 'llmscope_llm_errors_total', { model: 'gpt-4o', error_type: 'RateLimitError' })[0]?.value).toBe(1);
      expect(find(s, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' })[0]?.value).toBe(2000);
      expect(find(s, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o-mini' })[0]?.value).toBeCloseTo(2 * CALL_COST, 10);

      // One log line per call, the same fields either way; the request line adds its calls up.
      const llmLines = app.lines.filter((l) => l.event === 'llm_call');
      expect(llmLines).toHaveLength(3);
      expect(llmLines[0]).toMatchObject({ model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 200, temperature: 0.1, outcome: 'ok', user_id: 'u-1', session_id: 's-1' });
      expect(llmLines[2]).toMatchObject({ model: 'gpt-4o', outcome: 'error', error_type: 'RateLimitError' });
      const requestLine = app.lines.find((l) => l.event === 'http_request' && l.route === '/two-calls');
      expect(requestLine).toMatchObject({ llm_calls: 2, input_tokens: 2000, output_tokens: 400 });
      expect(requestLine?.cost_usd).toBeCloseTo(2 * CALL_COST, 10);

      // Sentry: the failed call, once, although it also failed its request.
      await sentry.waitForEvents((e) => e.length >= before + 1);
      // Time for a duplicate (the request's own report of the same error) to arrive, if sent.
      await new Promise((r) => setTimeout(r, 300));
      const mine = sentry.events.slice(before);
      expect(mine).toHaveLength(1);
      expect(mine[0]?.tags).toMatchObject({ 'llmscope.source': 'llm_call', 'gen_ai.request.model': 'gpt-4o' });
      expect(mine[0]?.exception?.values?.[0]).toMatchObject({ type: 'RateLimitError', value: 'slow down' });
      expect(mine[0]?.user).toMatchObject({ id: 'u-2' });
    } finally {
      await stop(app);
    }
  });

  test('request totals on the request span and the tree printer\'s first line', async () => {
    const printed: string[] = [];
    const app = await start({ tracing: { spanProcessors: [new TreePrinterProcessor((t) => printed.push(t))] } });
    try {
      const res = await fetch(`${app.url}/two-calls`);
      const traceId = res.headers.get('x-trace-id');
      const spans = await waitForSpans(exporter, (x) => x.some((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId));
      const server = spans.find((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId);
      expect(server?.attributes).toMatchObject({ 'llmscope.request.llm_calls': 2, 'llmscope.request.input_tokens': 2000, 'llmscope.request.output_tokens': 400 });
      expect(server?.attributes['llmscope.request.cost_usd']).toBeCloseTo(2 * CALL_COST, 10);
      const head = printed.find((t) => t.includes(`trace ${traceId}`))?.split('\n')[0];
      expect(head).toMatch(/^GET \/two-calls \d+ms \(2 LLM calls, in 2000 \/ out 400 tok, \$0\.000540\) → 200/);
    } finally {
      await stop(app);
    }
  });

  test('another tool\'s GenAI span (older semconv names) becomes a record; the same call seen twice is counted once', async () => {
    const app = await start({});
    try {
      const tracer = trace.getTracer('other-instrumentation');
      // Pre-1.37 names: gen_ai.system and prompt/completion tokens.
      const foreign = tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.prompt_tokens': 1000, 'gen_ai.usage.completion_tokens': 200 } });
      foreign.end();
      // An SDK's own span inside an llmscope call: the same call.
      await app.mw.llmscope.traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
        tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' } }).end();
        return COMPLETION;
      });
      // A failed foreign call: its exception event becomes the record's error.
      const failing = tracer.startSpan('embeddings text-embedding-3-small', { attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'text-embedding-3-small' } });
      failing.recordException(new RateLimitError('quota'));
      failing.setStatus({ code: SpanStatusCode.ERROR });
      failing.setAttribute('error.type', 'RateLimitError');
      failing.end();

      expect(app.records.map((r) => [r.source, r.operation, r.model])).toEqual([
        ['span', 'chat', 'gpt-4o-mini'], ['llmscope', 'chat', 'gpt-4o-mini'], ['span', 'embeddings', 'text-embedding-3-small'],
      ]);
      const [fromSpan, , failed] = app.records as [LlmCallRecord, LlmCallRecord, LlmCallRecord];
      expect(fromSpan).toMatchObject({ provider: 'openai', inputTokens: 1000, outputTokens: 200 });
      expect(fromSpan.costUsd).toBeCloseTo(CALL_COST, 10);
      expect(failed).toMatchObject({ outcome: 'error', errorType: 'RateLimitError' });
      expect((failed.error as Error).message).toBe('quota');
    } finally {
      await stop(app);
    }
  });

  test('a failed step and a failed job outside any request reach the error log and Sentry', async () => {
    const app = await start({ exporters: { sentry: { dsn: sentry.dsn } } });
    const before = sentry.events.length;
    try {
      expect((await fetch(`${app.url}/step-fails`)).status).toBe(503);
      await expect(runWithContext(async () => {
        throw new Error('nightly re-index failed');
      })).rejects.toThrow('nightly re-index failed');
      const events = (await sentry.waitForEvents((e) => e.length >= before + 2)).slice(before);
      expect(events.map((e) => e.tags?.['llmscope.source']).sort()).toEqual(['job', 'step']);
      expect(events.find((e) => e.tags?.['llmscope.source'] === 'step')?.tags).toMatchObject({ 'llmscope.step': 'vector_search' });
      expect(app.lines.filter((l) => l.event === 'step_failed')).toEqual([expect.objectContaining({ step: 'vector_search', error: 'TypeError: index offline' })]);
      expect(app.lines.filter((l) => l.event === 'job_failed')).toEqual([expect.objectContaining({ error: 'Error: nightly re-index failed' })]);
    } finally {
      await stop(app);
    }
  });

  test('a throwing sink costs the other sinks and the app nothing', async () => {
    const app = await start({});
    app.mw.llmscope.onLlmCall(() => {
      throw new Error('broken consumer');
    });
    const after: LlmCallRecord[] = [];
    const remove = app.mw.llmscope.onLlmCall((r) => after.push(r));
    try {
      expect((await fetch(`${app.url}/two-calls`)).status).toBe(200);
      expect(app.records).toHaveLength(2);
      expect(after).toHaveLength(2);
      remove();
      expect((await fetch(`${app.url}/two-calls`)).status).toBe(200);
      expect(after).toHaveLength(2);
    } finally {
      await stop(app);
    }
  });
});
