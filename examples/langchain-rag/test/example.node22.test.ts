import request from 'supertest';
import { SpanKind } from '@opentelemetry/api';
import { LlmServer, find, listen, memoryExporter, parseMetrics, waitForSpans, type Listening } from '@llmscope/testkit';
import { createApp, type ExampleApp } from '../src/app';

// @langchain/openai requires Node 22: this file runs in the Jest project examples-node22, which
// `npm test` runs on Node 22 and 24 (scripts/test-node-versions.mjs).

// The first request loads LangChain's and the OpenAI SDK's modules: slow on a loaded machine.
jest.setTimeout(120_000);

const exporter = memoryExporter();
let llm: LlmServer;
let app: ExampleApp;
let listening: Listening;

beforeAll(async () => {
  llm = await LlmServer.start();
  app = createApp({ baseURL: llm.openaiBaseURL, apiKey: 'test-key', llmscope: { metrics: { defaultMetrics: false } } });
  listening = await listen(app);
});
afterAll(async () => {
  await listening.close();
  await app.llmscope.shutdown();
  await llm.close();
});

describe('langchain-rag example', () => {
  test('POST /chat: the retriever, the chain and the streamed model call are traced under the request, priced, in /metrics', async () => {
    llm.enqueue({ text: 'Orbit Notes Pro costs $8 per month [pricing].', usage: { input: 420, output: 24 }, firstChunkDelayMs: 120 });
    const res = await request(listening.url).post('/chat').set('x-user-id', 'alice').set('x-session-id', 's-1').send({ question: 'How much does Orbit Notes Pro cost?' }).expect(200);
    expect(res.body.answer).toBe('Orbit Notes Pro costs $8 per month [pricing].');
    expect(res.body.sources[0]).toEqual({ id: 'pricing', title: 'Plans and pricing' });

    // The model got the retrieved context in its prompt.
    const sent = JSON.stringify(llm.requests[0]?.body.messages);
    expect(sent).toContain('[pricing] Orbit Notes Free includes 3 notebooks');
    expect(llm.requests[0]?.body).toMatchObject({ model: 'gpt-4o-mini', stream: true, temperature: 0.2 });

    const traceId = res.body.traceId as string;
    const spans = (await waitForSpans(exporter, (all) => all.some((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.SERVER)))
      .filter((s) => s.spanContext().traceId === traceId);
    const root = spans.find((s) => s.kind === SpanKind.SERVER);
    expect(root?.attributes).toMatchObject({ 'http.route': '/chat', 'user.id': 'alice', 'llmscope.feature': 'chat', 'llmscope.request.llm_calls': 1, 'llmscope.request.input_tokens': 420 });
    // Each span under the run that started it: the retriever and the chain under the request, the
    // chain's runnables (the model call among them) under the chain; the provider's HTTP call beside.
    const parentOf = (name: string): string | undefined => {
      const span = spans.find((s) => s.name === name);
      return spans.find((p) => p.spanContext().spanId === span?.parentSpanContext?.spanId)?.name;
    };
    expect(Object.fromEntries(['knowledge_base', 'answer', 'ChatPromptTemplate', 'chat gpt-4o-mini', 'StrOutputParser', 'POST'].map((n) => [n, parentOf(n)]))).toEqual({
      knowledge_base: 'POST /chat', answer: 'POST /chat', ChatPromptTemplate: 'answer', 'chat gpt-4o-mini': 'answer', StrOutputParser: 'answer', POST: 'POST /chat',
    });
    expect(spans.find((s) => s.name === 'knowledge_base')?.attributes).toMatchObject({ 'llmscope.retrieval.documents_returned': 3 });
    const call = spans.find((s) => s.name === 'chat gpt-4o-mini');
    expect(call?.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 420, 'gen_ai.usage.output_tokens': 24,
      'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': 'v1',
    });
    expect(Number(call?.attributes['gen_ai.response.time_to_first_chunk'])).toBeGreaterThanOrEqual(0.12);
    expect(Number(call?.attributes['llmscope.cost.usd'])).toBeGreaterThan(0);

    const metrics = parseMetrics((await request(listening.url).get('/metrics').expect(200)).text);
    expect(find(metrics, 'gen_ai_client_operation_duration_seconds_count', { operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', outcome: 'ok' })[0]?.value).toBe(1);
    expect(find(metrics, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' })[0]?.value).toBe(420);
    expect(find(metrics, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o-mini', feature: 'chat', prompt_version: 'v1' })[0]?.value).toBeCloseTo(Number(call?.attributes['llmscope.cost.usd']), 12);
    expect(find(metrics, 'gen_ai_client_operation_time_to_first_chunk_seconds_count', { model: 'gpt-4o-mini' })[0]?.value).toBe(1);
  });

  test('a bad question is a 400, not a model call', async () => {
    const before = llm.requests.length;
    await request(listening.url).post('/chat').send({ question: '' }).expect(400);
    expect(llm.requests.length).toBe(before);
  });
});
