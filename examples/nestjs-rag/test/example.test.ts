import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { createApp } from '../src/app';
import { checkScoring } from '../../shared/test/scoring';

const exporter = memoryExporter();
const STEPS = ['embed_query', 'vector_search', 'prompt_construction', 'chat sim-gpt', 'response_formatting'];

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe.each([['express'], ['fastify']] as const)('nestjs-rag example on %s', (platform) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    // Speed 0: the simulated latencies are skipped (RagService reads it when Nest creates it).
    const speed = process.env.SIM_LLM_SPEED;
    process.env.SIM_LLM_SPEED = '0';
    // The judge grades every answer (the example samples half), so that its score is certain.
    app = await createApp({ platform, judgeSampleRate: 1 });
    if (speed === undefined) delete process.env.SIM_LLM_SPEED;
    else process.env.SIM_LLM_SPEED = speed;
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    server.keepAliveTimeout = 100;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  test('POST /chat answers from the knowledge base; the decorated steps nest under the request with the prompt version', async () => {
    const res = await request(url).post('/chat').set('x-user-id', 'alice').set('x-session-id', 's-1').send({ question: 'How much does Orbit Notes Pro cost?' }).expect(200);
    expect(res.body.answer).toContain('$8 per month');
    expect(res.body.sources[0]?.id).toBe('pricing');
    expect(res.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers['x-trace-id']).toBe(res.body.traceId);
    const all = await waitForSpans(exporter, (x) => x.some((s) => s.spanContext().traceId === res.body.traceId && s.kind === SpanKind.SERVER));
    const spans = all.filter((s) => s.spanContext().traceId === res.body.traceId);
    const root = byName(spans, 'POST /chat');
    expect(root.attributes).toMatchObject({ 'http.route': '/chat', 'user.id': 'alice', 'session.id': 's-1', 'llmscope.feature': 'chat' });
    const children = spans.filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(children.map((s) => s.name)).toEqual(STEPS);
    expect(byName(spans, 'vector_search').attributes).toMatchObject({ 'gen_ai.data_source.id': 'orbit-notes-docs', 'llmscope.retrieval.documents_returned': 3 });
    const llm = byName(spans, 'chat sim-gpt');
    expect(llm.attributes).toMatchObject({ 'gen_ai.provider.name': 'simulated', 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': 'v1', 'gen_ai.conversation.id': 's-1' });
    // The simulated LLM counts tokens deterministically (examples/shared/test/kit.test.ts): this question's prompt and answer.
    expect(llm.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 200, 'gen_ai.usage.output_tokens': 35 });
    const s = parseMetrics((await request(url).get('/metrics').expect(200)).text);
    // The app's first /chat: the counters hold exactly this call's tokens.
    expect(find(s, 'llmscope_llm_tokens_total', { model: 'sim-gpt', token_type: 'input' })[0]?.value).toBe(llm.attributes['gen_ai.usage.input_tokens']);
    expect(find(s, 'llmscope_llm_tokens_total', { model: 'sim-gpt', token_type: 'output' })[0]?.value).toBe(llm.attributes['gen_ai.usage.output_tokens']);
    expect(find(s, 'http_server_requests_total', { route: '/chat', status_code: '200' })[0]?.value).toBe(1);
  });

  test('answers are scored: citation accuracy (code), relevance (judge), and feedback with the trace id (human), by prompt version', async () => {
    // @TraceLLM({ inputFrom }) records the prompt, so the judge sees the question as on the other frameworks.
    await checkScoring(url, { prompt_name: 'rag-answer', prompt_version: 'v1' });
  });

  test('GET / lists the endpoints; a bad body gets a 400', async () => {
    const res = await request(url).get('/').expect(200);
    expect(res.body.endpoints.map((e: { method: string; path: string }) => `${e.method} ${e.path}`)).toEqual(['GET /', 'POST /chat', 'POST /llmscope/feedback', 'GET /metrics']);
    await request(url).post('/chat').send({ question: 42 }).expect(400);
  });
});
