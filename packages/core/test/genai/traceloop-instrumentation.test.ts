/**
 * OpenLLMetry's (Traceloop) real OpenAI instrumentation driving the real `openai` client against
 * the testkit LLM server (issue 12 item 4): its spans become priced records, in /metrics, with the
 * request context; a call llmscope's own wrapper also recorded is counted once. A file of its own:
 * the instrumentation patches the SDK's classes, and another tool's patch (OpenInference's, in
 * other-tools-spans.test.ts) on the same classes would make two foreign spans per call.
 */
import express from 'express';
import OpenAI from 'openai';
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai';
import { instrumentOpenAI, llmscope, type LlmCallRecord } from '@llmscope/express';
import { LlmServer, listen, type Listening, type Sample } from '@llmscope/testkit';
import { exporter, postOk, scrapeApp, sumOf, usd } from './sdk-harness';

let llm: LlmServer;
let app: Listening;
let mw: ReturnType<typeof llmscope>;
const records: LlmCallRecord[] = [];
const instrumentation = new OpenAIInstrumentation({ enrichTokens: false });
instrumentation.manuallyInstrument(OpenAI);

beforeAll(async () => {
  llm = await LlmServer.start();
  const plain = new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 });
  const wrapped = instrumentOpenAI(new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 }));
  const server = express();
  mw = llmscope({ metrics: { defaultMetrics: false } });
  mw.llmscope.onLlmCall((r) => records.push(r));
  server.use(mw);
  // Only OpenLLMetry records this call.
  server.post('/traceloop/chat', async (_req, res) => {
    const c = await plain.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, max_tokens: 64 });
    res.json({ text: c.choices[0]?.message.content });
  });
  // Both: llmscope's wrapper around the instance, OpenLLMetry's span inside it.
  server.post('/both', async (_req, res) => {
    const c = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    res.json({ text: c.choices[0]?.message.content });
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

test('OpenLLMetry: the real instrumentation\'s chat span becomes a priced record, in /metrics, with the request context', async () => {
  const before = await scrape();
  llm.enqueue({ usage: { input: 1000, output: 200 } });
  await post('/traceloop/chat', { 'x-user-id': 'u-9', 'x-session-id': 's-9' });

  const spans = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name.includes('traceloop'));
  expect(spans).toHaveLength(1);
  expect(records).toHaveLength(1);
  const [chat] = records as [LlmCallRecord];
  expect(chat).toMatchObject({ source: 'span', operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1000, outputTokens: 200, userId: 'u-9', sessionId: 's-9', outcome: 'ok' });
  const cost = usd(chat.responseModel ?? 'gpt-4o-mini', 'openai', { input_tokens: 1000, output_tokens: 200 });
  expect(chat.costUsd).toBeCloseTo(cost, 12);

  const after = await scrape();
  const delta = (name: string, labels: Record<string, string>): number => value(after, name, labels) - value(before, name, labels);
  expect(delta('gen_ai_client_operation_duration_seconds_count', { operation: 'chat', provider: 'openai', model: 'gpt-4o-mini' })).toBe(1);
  expect(delta('llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' })).toBe(1000);
  expect(delta('llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'output' })).toBe(200);
  expect(delta('llmscope_llm_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini' })).toBeCloseTo(cost, 12);
});

test('a call both llmscope and OpenLLMetry recorded is counted once', async () => {
  const before = await scrape();
  llm.enqueue({ usage: { input: 300, output: 30 } });
  await post('/both');
  // Both tools keep their span...
  expect(exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name.includes('traceloop'))).toHaveLength(1);
  // ...but one record: llmscope's.
  expect(records.map((r) => [r.source, r.inputTokens])).toEqual([['llmscope', 300]]);
  const after = await scrape();
  expect(value(after, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' }) - value(before, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' })).toBe(300);
});
