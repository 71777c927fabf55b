import { trace } from '@opentelemetry/api';
import { Llmscope, runWithContext } from '../../src';
import { chat, ragApp } from '../exporters/exporter-app';
import { memoryLogger, memoryExporter, waitForSpans } from '@llmscope/testkit';

const spans = memoryExporter();
afterEach(() => spans.reset());

describe('structured JSON logs (pino)', () => {
  test('one line per request and one per LLM call, correlated with the trace', async () => {
    const { logger, lines } = memoryLogger();
    const app = await ragApp({ metrics: false, logging: { logger } });
    try {
      const traceId = await chat(app.url, 'What is new?', 'user-1', 'sess-1');
      const finished = await waitForSpans(spans, (s) => s.some((x) => x.name === 'POST /chat/:id'));
      const request = lines.find((l) => l.event === 'http_request');
      const server = finished.find((x) => x.name === 'POST /chat/:id');
      expect(request).toMatchObject({
        level: 30, msg: 'request', method: 'POST', route: '/chat/:id', status: 200,
        user_id: 'user-1', session_id: 'sess-1', trace_id: traceId, span_id: server?.spanContext().spanId,
        feature: 'support-chat', prompt_name: 'rag-answer', prompt_version: '3',
      });
      expect(typeof request?.duration_ms).toBe('number');

      const llm = lines.find((l) => l.event === 'llm_call');
      const llmSpan = finished.find((x) => x.name === 'chat gpt-4o-mini');
      expect(llm).toMatchObject({
        msg: 'llm call', operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', response_model: 'gpt-4o-mini-2024-07-18',
        prompt_name: 'rag-answer', prompt_version: '3', temperature: 0.2, max_tokens: 256, input_tokens: 120, output_tokens: 30,
        outcome: 'ok', user_id: 'user-1', session_id: 'sess-1', trace_id: traceId, span_id: llmSpan?.spanContext().spanId,
      });
      expect(llm?.cost_usd).toBeGreaterThan(0);
      expect(typeof llm?.duration_ms).toBe('number');
      // Content capture is off by default.
      expect(llm).not.toHaveProperty('input');
      expect(llm).not.toHaveProperty('output');
      expect(lines.filter((l) => l.event === 'http_request')).toHaveLength(1);
      expect(lines.filter((l) => l.event === 'llm_call')).toHaveLength(1);
    } finally {
      await app.mw.llmscope.shutdown();
      await app.close();
    }
  });

  test('server errors are logged at error level with the error; lines can be turned off one by one', async () => {
    const { logger, lines } = memoryLogger();
    const app = await ragApp({ metrics: false, logging: { logger, llmCalls: false } });
    try {
      await (await fetch(`${app.url}/boom`)).arrayBuffer();
      await chat(app.url, 'q');
      await waitForSpans(spans, (s) => s.some((x) => x.name === 'POST /chat/:id'));
      const boom = lines.find((l) => l.route === '/boom');
      expect(boom).toMatchObject({ level: 50, status: 500, error: 'TypeError: kaboom for user [EMAIL]' });
      expect(lines.some((l) => l.event === 'llm_call')).toBe(false);
    } finally {
      await app.mw.llmscope.shutdown();
      await app.close();
    }
  });

  test('without tracing, the LLM line comes from the call record', async () => {
    const { logger, lines } = memoryLogger();
    const scope = new Llmscope({ metrics: false, tracing: false, logging: { logger, requests: false } });
    await runWithContext(() => scope.traceLLM({ model: 'claude-sonnet-4', provider: 'anthropic' }, async () => ({ model: 'claude-sonnet-4', usage: { input_tokens: 7, output_tokens: 3 } })));
    expect(lines).toEqual([expect.objectContaining({ event: 'llm_call', model: 'claude-sonnet-4', provider: 'anthropic', input_tokens: 7, output_tokens: 3, outcome: 'ok' })]);
    expect(trace.getActiveSpan()).toBeUndefined();
    await scope.shutdown();
  });

  test('`logging: true` makes a pino logger of its own; logging is off by default', async () => {
    const on = new Llmscope({ metrics: false, tracing: false, logging: true });
    expect(typeof on.telemetry?.logging?.logger.info).toBe('function');
    const off = new Llmscope({ metrics: false, tracing: false });
    expect(off.telemetry).toBeUndefined();
    await Promise.all([on.shutdown(), off.shutdown()]);
  });
});
