import { find, type LlmServer } from '@llmscope/testkit';
import { Llmscope, llmscopeEmbeddingMiddleware, llmscopeMiddleware, type LlmCallRecord } from '../../src';
import { inRequest, llmSpans, samples, scopeOptions, usd, useLlmServer } from './sdk-harness';

// The Vercel AI SDK (ai 7, @ai-sdk/openai 4: both require Node 22, so this file is the Jest
// project core-node22) with the real OpenAI provider pointed at the testkit LLM server. Both are
// ES modules only: imported dynamically (Jest loads them as ES modules; a static import here would
// be a require()).

async function load() {
  // One after the other: Jest's ES module loader fails to link a dependency two imports share
  // when they load concurrently.
  const ai = await import('ai');
  const openai = await import('@ai-sdk/openai');
  const zod = await import('zod');
  return { ...ai, createOpenAI: openai.createOpenAI, z: zod.z };
}
let m: Awaited<ReturnType<typeof load>>;
beforeAll(async () => {
  m = await load();
});

describe('llmscopeMiddleware with the real AI SDK', () => {
  const server = useLlmServer();
  let llm: LlmServer;
  beforeAll(() => {
    llm = server();
  });

  function provider(): ReturnType<typeof m.createOpenAI> {
    return m.createOpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL });
  }

  function scoped(): { scope: Llmscope; records: LlmCallRecord[] } {
    const scope = new Llmscope(scopeOptions);
    const records: LlmCallRecord[] = [];
    scope.onLlmCall((r) => records.push(r));
    return { scope, records };
  }

  test('generateText: one call with span, tokens (cached, reasoning), cost, request context, metrics', async () => {
    const { scope, records } = scoped();
    const model = m.wrapLanguageModel({ model: provider().chat('gpt-4o-mini'), middleware: llmscopeMiddleware() });
    llm.enqueue({ usage: { input: 1000, output: 300, cacheRead: 600, reasoning: 100 } });
    const result = await inRequest(scope, () => m.generateText({ model, prompt: 'hi', temperature: 0.3, maxOutputTokens: 500 }));
    expect(result.text).toBe('Hello from the llmscope testkit.');
    const spans = llmSpans();
    expect(spans).toHaveLength(1);
    const span = spans[0];
    expect(span?.name).toBe('chat gpt-4o-mini');
    expect(span?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.3, 'gen_ai.request.max_tokens': 500, 'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 300,
      'gen_ai.usage.cache_read.input_tokens': 600, 'gen_ai.usage.reasoning.output_tokens': 100, 'user.id': 'u1', 'gen_ai.conversation.id': 's1',
    });
    const expected = usd('gpt-4o-mini', 'openai', { input_tokens: 1000, output_tokens: 300, cache_read_tokens: 600 });
    expect(span?.attributes['llmscope.cost.usd']).toBeCloseTo(expected, 12);
    expect(records).toHaveLength(1);
    expect(records[0]?.requestSpanId).toBeDefined();
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'openai', model: 'gpt-4o-mini' })[0]?.value).toBe(1);
    expect(find(s, 'llmscope_llm_cost_usd_total', { provider: 'openai' })[0]?.value).toBeCloseTo(expected, 12);
  });

  test('streamText: time to first chunk, usage from the finish part, the text passes through', async () => {
    const { scope } = scoped();
    const model = m.wrapLanguageModel({ model: provider().chat('gpt-4o-mini'), middleware: llmscopeMiddleware() });
    llm.enqueue({ firstChunkDelayMs: 120, chunkDelayMs: 20, chunks: 5, usage: { input: 40, output: 9 } });
    let seenFirst = 0;
    let text = '';
    await inRequest(scope, async () => {
      const before = performance.now();
      const result = m.streamText({ model, prompt: 'hi' });
      for await (const delta of result.textStream) {
        if (seenFirst === 0) seenFirst = (performance.now() - before) / 1000;
        text += delta;
      }
    });
    expect(text).toBe('Hello from the llmscope testkit.');
    // The provider asks for the usage chunk itself.
    expect(llm.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    const span = llmSpans()[0];
    expect(span?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.output_tokens': 9, 'gen_ai.response.finish_reasons': ['stop'] });
    expect(span?.attributes['llmscope.usage.estimated']).toBeUndefined();
    const ttft = span?.attributes['gen_ai.response.time_to_first_chunk'] as number;
    expect(ttft).toBeGreaterThanOrEqual(0.12);
    expect(ttft).toBeLessThanOrEqual(seenFirst);
    const duration = (span?.duration[0] ?? 0) + (span?.duration[1] ?? 0) / 1e9;
    expect(duration).toBeGreaterThan(ttft + 0.05);
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_sum', { provider: 'openai' })[0]?.value).toBeCloseTo(ttft, 6);
  });

  test('generateObject (JSON answer) and the Responses API model', async () => {
    const { scope } = scoped();
    const openai = provider();
    llm.enqueue({ text: '{"answer":"ok"}', usage: { input: 20, output: 5 } }, { usage: { input: 8, output: 3 } });
    const object = await inRequest(scope, async () => {
      const r = await m.generateObject({ model: m.wrapLanguageModel({ model: openai.chat('gpt-4o-mini'), middleware: llmscopeMiddleware() }), schema: m.z.object({ answer: m.z.string() }), prompt: 'hi' });
      await m.generateText({ model: m.wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: llmscopeMiddleware() }), prompt: 'again' });
      return r.object;
    });
    expect(object).toEqual({ answer: 'ok' });
    expect(llm.requests.map((r) => r.api)).toEqual(['chat', 'responses']);
    const [first, second] = llmSpans();
    expect(first?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 5 });
    expect(second?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 8, 'gen_ai.usage.output_tokens': 3, 'gen_ai.provider.name': 'openai' });
  });

  test('embed and embedMany: embeddings calls with their tokens', async () => {
    const { scope, records } = scoped();
    const model = m.wrapEmbeddingModel({ model: provider().embedding('text-embedding-3-small'), middleware: llmscopeEmbeddingMiddleware() });
    llm.enqueue({ usage: { input: 4 } }, { usage: { input: 9 } });
    await inRequest(scope, async () => {
      await m.embed({ model, value: 'a' });
      await m.embedMany({ model, values: ['b', 'c'] });
    });
    expect(records.map((r) => [r.operation, r.model, r.inputTokens])).toEqual([['embeddings', 'text-embedding-3-small', 4], ['embeddings', 'text-embedding-3-small', 9]]);
    expect(llmSpans()[0]?.attributes['gen_ai.embeddings.dimension.count']).toBe(8);
    expect(records[1]?.costUsd).toBeCloseTo(usd('text-embedding-3-small', 'openai', { input_tokens: 9 }), 12);
  });

  test('errors: the call fails with the AI SDK error type, once per attempt the SDK makes', async () => {
    const { scope, records } = scoped();
    const model = m.wrapLanguageModel({ model: provider().chat('gpt-4o-mini'), middleware: llmscopeMiddleware() });
    llm.enqueue({ status: 401, errorMessage: 'bad key' });
    await expect(inRequest(scope, () => m.generateText({ model, prompt: 'hi', maxRetries: 0 }))).rejects.toBeInstanceOf(m.APICallError);
    llm.enqueue({ status: 500 }, { status: 500 });
    await expect(inRequest(scope, async () => {
      const result = m.streamText({ model, prompt: 'hi', maxRetries: 0, onError: () => undefined });
      for await (const _ of result.textStream) void _;
      await result.text;
    })).rejects.toBeDefined();
    expect(records.map((r) => [r.outcome, r.errorType])).toEqual([['error', 'AI_APICallError'], ['error', 'AI_APICallError']]);
    const s = await samples(scope);
    expect(find(s, 'llmscope_llm_errors_total', { provider: 'openai' }).reduce((n, x) => n + x.value, 0)).toBe(2);
  });
});
