/**
 * Other tools' GenAI spans (issue 12 item 4): OpenInference's (Arize) from its real OpenAI
 * instrumentation driving the real `openai` client against the testkit LLM server, and
 * OpenLLMetry's (Traceloop) older `llm.*` / `gen_ai.*` names made through a real tracer with the
 * constants of `@traceloop/ai-semantic-conventions`, feed the same records as llmscope's own calls:
 * /metrics, cost, no call counted twice.
 */
import express from 'express';
import OpenAI from 'openai';
import { trace } from '@opentelemetry/api';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { OpenInferenceSpanKind, SemanticConventions } from '@arizeai/openinference-semantic-conventions';
import { LLMRequestTypeValues, SpanAttributes } from '@traceloop/ai-semantic-conventions';
import { instrumentOpenAI, llmscope, traceLLM, type LlmCallRecord } from '@llmscope/express';
import { LlmServer, listen, type Listening, type Sample } from '@llmscope/testkit';
import { exporter, postOk, scrapeApp, sumOf, usd } from './sdk-harness';

let llm: LlmServer;
let app: Listening;
let mw: ReturnType<typeof llmscope>;
const records: LlmCallRecord[] = [];
const instrumentation = new OpenAIInstrumentation();
// The instrumentation patches the SDK's classes; llmscope's wrapper patches one client instance.
instrumentation.manuallyInstrument({ OpenAI } as unknown as Parameters<OpenAIInstrumentation['manuallyInstrument']>[0]);

beforeAll(async () => {
  llm = await LlmServer.start();
  const plain = new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 });
  const wrapped = instrumentOpenAI(new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 }));
  const server = express();
  mw = llmscope({ metrics: { defaultMetrics: false } });
  mw.llmscope.onLlmCall((r) => records.push(r));
  server.use(mw);
  // Only OpenInference records these calls.
  server.post('/openinference/chat', async (_req, res) => {
    const c = await plain.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, max_tokens: 64 });
    res.json({ text: c.choices[0]?.message.content });
  });
  server.post('/openinference/embed', async (_req, res) => {
    const e = await plain.embeddings.create({ model: 'text-embedding-3-small', input: 'refund policy' });
    res.json({ dims: e.data[0]?.embedding.length });
  });
  // Both: llmscope's wrapper around the instance, OpenInference's span inside it.
  server.post('/both', async (_req, res) => {
    const c = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    res.json({ text: c.choices[0]?.message.content });
  });
  // Both the other way round: an OpenInference LLM span around the app's traceLLM (a gateway call).
  server.post('/around', async (_req, res) => {
    const tracer = trace.getTracer('openinference-gateway');
    const text = await tracer.startActiveSpan('gateway chat', {
      attributes: { [SemanticConventions.OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.LLM, [SemanticConventions.LLM_MODEL_NAME]: 'gpt-4o-mini', [SemanticConventions.LLM_PROVIDER]: 'openai' },
    }, async (span) => {
      const r = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({ usage: { prompt_tokens: 500, completion_tokens: 50 } }));
      span.setAttributes({ [SemanticConventions.LLM_TOKEN_COUNT_PROMPT]: 500, [SemanticConventions.LLM_TOKEN_COUNT_COMPLETION]: 50 });
      span.end();
      return JSON.stringify(r.usage);
    });
    res.json({ text });
  });
  // OpenLLMetry's older names: gen_ai.system "OpenAI", llm.request.type, prompt/completion tokens,
  // the total, the cache read in its pre-convention spelling; and a workflow span around it.
  server.post('/traceloop', (_req, res) => {
    const tracer = trace.getTracer('@traceloop/instrumentation-openai', '0.11.0');
    const workflow = tracer.startSpan('rag.workflow', { attributes: { [SpanAttributes.TRACELOOP_SPAN_KIND]: 'workflow', [SpanAttributes.TRACELOOP_WORKFLOW_NAME]: 'rag' } });
    const span = tracer.startSpan('openai.chat', {
      attributes: { 'gen_ai.system': 'OpenAI', [SpanAttributes.LLM_REQUEST_TYPE]: LLMRequestTypeValues.CHAT, 'gen_ai.request.model': 'gpt-4o-mini', [SpanAttributes.TRACELOOP_ENTITY_NAME]: 'answer' },
    });
    span.setAttributes({
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.prompt_tokens': 2000,
      [SpanAttributes.LLM_USAGE_TOTAL_TOKENS]: 2300, [SpanAttributes.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 1024,
    });
    span.end();
    workflow.end();
    res.json({ ok: true });
  });
  // An OpenInference chain: a grouping, no LLM call.
  server.post('/chain', (_req, res) => {
    trace.getTracer('openinference-langchain').startSpan('RunnableSequence', { attributes: { [SemanticConventions.OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.CHAIN } }).end();
    res.json({ ok: true });
  });
  app = await listen(server);
});

afterAll(async () => {
  instrumentation.disable();
  await app.close();
  await mw.llmscope.shutdown();
  await llm.close();
});

beforeEach(() => {
  records.length = 0;
  exporter.reset();
  llm.reset();
});

const scrape = (): Promise<Sample[]> => scrapeApp(app.url);
const value = sumOf;
const post = (path: string, headers?: Record<string, string>): Promise<void> => postOk(app.url, path, headers);

test('OpenInference: the real instrumentation\'s chat and embeddings spans become priced records, in /metrics, with the request context', async () => {
  const before = await scrape();
  llm.enqueue({ usage: { input: 1000, output: 200, cacheRead: 600 } }, { usage: { input: 40 } });
  await post('/openinference/chat', { 'x-user-id': 'u-7', 'x-session-id': 's-7' });
  await post('/openinference/embed');

  const spans = exporter.getFinishedSpans().filter((s) => s.attributes[SemanticConventions.OPENINFERENCE_SPAN_KIND] !== undefined);
  expect(spans.map((s) => s.name).sort()).toEqual(['OpenAI Chat Completions', 'OpenAI Embeddings']);
  expect(records.map((r) => [r.source, r.operation, r.provider, r.model])).toEqual([
    ['span', 'chat', 'openai', 'gpt-4o-mini'], ['span', 'embeddings', 'openai', 'text-embedding-3-small'],
  ]);
  const [chat, embed] = records as [LlmCallRecord, LlmCallRecord];
  expect(chat).toMatchObject({ inputTokens: 1000, outputTokens: 200, cacheReadTokens: 600, temperature: 0.2, maxTokens: 64, userId: 'u-7', sessionId: 's-7', outcome: 'ok' });
  expect(chat.requestSpanId).toBeDefined();
  // Cached input priced at its own rate.
  const chatCost = usd('gpt-4o-mini', 'openai', { input_tokens: 1000, output_tokens: 200, cache_read_tokens: 600 });
  expect(chat.costUsd).toBeCloseTo(chatCost, 12);
  // OpenInference's OpenAI instrumentation puts no usage on its embedding spans: the call counts (duration), unpriced.
  expect(embed).toMatchObject({ inputTokens: undefined, costUsd: undefined, outcome: 'ok' });

  const after = await scrape();
  const delta = (name: string, labels: Record<string, string>): number => value(after, name, labels) - value(before, name, labels);
  expect(delta('gen_ai_client_operation_duration_seconds_count', { operation: 'chat', provider: 'openai', model: 'gpt-4o-mini' })).toBe(1);
  expect(delta('gen_ai_client_operation_duration_seconds_count', { operation: 'embeddings', provider: 'openai', model: 'text-embedding-3-small' })).toBe(1);
  expect(delta('llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' })).toBe(1000);
  expect(delta('llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'output' })).toBe(200);
  expect(delta('llmscope_llm_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini' })).toBeCloseTo(chatCost, 12);
});

test('a call both llmscope and OpenInference recorded is counted once, whichever span is outside', async () => {
  const before = await scrape();
  llm.enqueue({ usage: { input: 300, output: 30 } });
  await post('/both');
  await post('/around');

  // Both spans exist (each tool keeps its trace)...
  const names = exporter.getFinishedSpans().map((s) => s.name);
  expect(names.filter((n) => n === 'OpenAI Chat Completions')).toHaveLength(1);
  expect(names.filter((n) => n === 'gateway chat')).toHaveLength(1);
  expect(names.filter((n) => n === 'chat gpt-4o-mini')).toHaveLength(2);
  // ...but one record per call: llmscope's.
  expect(records.map((r) => [r.source, r.inputTokens])).toEqual([['llmscope', 300], ['llmscope', 500]]);
  const after = await scrape();
  expect(value(after, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' }) - value(before, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' })).toBe(2);
  expect(value(after, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' }) - value(before, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' })).toBe(800);
});

test('OpenLLMetry\'s older names: provider, operation, tokens completed from the total, cache reads; workflow and chain spans are no calls', async () => {
  const before = await scrape();
  await post('/traceloop');
  await post('/chain');
  expect(records).toHaveLength(1);
  const [call] = records as [LlmCallRecord];
  expect(call).toMatchObject({ source: 'span', operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18', inputTokens: 2000, outputTokens: 300, cacheReadTokens: 1024 });
  const cost = usd('gpt-4o-mini-2024-07-18', 'openai', { input_tokens: 2000, output_tokens: 300, cache_read_tokens: 1024 });
  expect(call.costUsd).toBeCloseTo(cost, 12);
  const after = await scrape();
  expect(value(after, 'llmscope_llm_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', token_type: 'output' }) - value(before, 'llmscope_llm_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', token_type: 'output' })).toBe(300);
  expect(value(after, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o-mini' }) - value(before, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o-mini' })).toBeCloseTo(cost, 12);
});
