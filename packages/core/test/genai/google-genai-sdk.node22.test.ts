import { ApiError, GoogleGenAI } from '@google/genai';
import { find, type LlmServer } from '@llmscope/testkit';
import { Llmscope, instrumentGoogleGenAI, traceLLM } from '../../src';
import { exporter, inRequest, llmSpans, samples, scopeOptions, usd, useLlmServer } from './sdk-harness';

// @google/genai 3 requires Node 22 (its engines): this file is the Jest project core-node22, run
// on Node 22 and 24 by scripts/test-node-versions.mjs within `npm test`.

describe('instrumentGoogleGenAI against the real @google/genai client', () => {
  const server = useLlmServer();
  let llm: LlmServer;
  beforeAll(() => {
    llm = server();
  });

  // Without `fetch`, the client hands Node's fetch an undici dispatcher it finds on the real
  // globalThis, which Jest's sandbox does not share ("Undici globalDispatcher is not available");
  // an app never runs in such a sandbox. Passing the global fetch skips that, nothing else.
  const httpOptions = (): { baseUrl: string; fetch: typeof fetch } => ({ baseUrl: llm.geminiBaseURL, fetch: (url, init) => fetch(url, init) });

  function gemini(): GoogleGenAI {
    return instrumentGoogleGenAI(new GoogleGenAI({ apiKey: 'test-key', httpOptions: httpOptions() }));
  }

  test('generateContent: span, usage (cached content, thoughts as output), cost, request context, metrics', async () => {
    const scope = new Llmscope(scopeOptions);
    const ai = gemini();
    llm.enqueue({ usage: { input: 900, output: 100, cacheRead: 400, reasoning: 50 } });
    const response = await inRequest(scope, () => ai.models.generateContent({
      model: 'gemini-2.5-flash', contents: 'hi', config: { temperature: 0.2, maxOutputTokens: 256, topP: 0.9 },
    }));
    expect(response.text).toBe('Hello from the llmscope testkit.');
    expect(llm.requests[0]?.path).toMatch(/^\/v1(beta)?\/models\/gemini-2.5-flash:generateContent$/);
    const spans = llmSpans();
    expect(spans).toHaveLength(1);
    const span = spans[0];
    expect(span?.name).toBe('generate_content gemini-2.5-flash');
    expect(span?.attributes).toMatchObject({
      'gen_ai.operation.name': 'generate_content', 'gen_ai.provider.name': 'gcp.gemini', 'gen_ai.request.model': 'gemini-2.5-flash',
      'gen_ai.request.temperature': 0.2, 'gen_ai.request.max_tokens': 256, 'gen_ai.request.top_p': 0.9,
      'gen_ai.response.model': 'gemini-2.5-flash', 'gen_ai.response.finish_reasons': ['STOP'],
      'gen_ai.usage.input_tokens': 900, 'gen_ai.usage.output_tokens': 150, 'gen_ai.usage.cache_read.input_tokens': 400,
      'gen_ai.usage.reasoning.output_tokens': 50, 'user.id': 'u1', 'gen_ai.conversation.id': 's1',
    });
    const expected = usd('gemini-2.5-flash', 'google', { input_tokens: 900, output_tokens: 150, cache_read_tokens: 400 });
    expect(span?.attributes['llmscope.cost.usd']).toBeCloseTo(expected, 12);
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'gcp.gemini', operation: 'generate_content', model: 'gemini-2.5-flash' })[0]?.value).toBe(1);
    expect(find(s, 'llmscope_llm_tokens_total', { provider: 'gcp.gemini', token_type: 'output' })[0]?.value).toBe(150);
    expect(find(s, 'llmscope_llm_tokens_total', { provider: 'gcp.gemini', token_type: 'cache_read' })[0]?.value).toBe(400);
    expect(find(s, 'llmscope_llm_cost_usd_total', { provider: 'gcp.gemini' })[0]?.value).toBeCloseTo(expected, 12);
  });

  test('generateContentStream: time to first chunk, usage from the last chunk, the text passes through', async () => {
    const scope = new Llmscope(scopeOptions);
    const ai = gemini();
    llm.enqueue({ firstChunkDelayMs: 120, chunkDelayMs: 20, chunks: 5, usage: { input: 40, output: 9 } });
    let seenFirst = 0;
    let text = '';
    await inRequest(scope, async () => {
      const before = performance.now();
      const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
      for await (const chunk of stream) {
        if (seenFirst === 0) seenFirst = (performance.now() - before) / 1000;
        text += chunk.text ?? '';
      }
    });
    expect(text).toBe('Hello from the llmscope testkit.');
    expect(llm.requests[0]?.path).toMatch(/^\/v1(beta)?\/models\/gemini-2.5-flash:streamGenerateContent$/);
    const span = llmSpans()[0];
    expect(span?.attributes).toMatchObject({
      'gen_ai.request.stream': true, 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.output_tokens': 9, 'gen_ai.response.finish_reasons': ['STOP'],
    });
    expect(span?.attributes['llmscope.usage.estimated']).toBeUndefined();
    const ttft = span?.attributes['gen_ai.response.time_to_first_chunk'] as number;
    expect(ttft).toBeGreaterThanOrEqual(0.12);
    // Bounded by when the loop got its first chunk, measured around the call (relative, not absolute).
    expect(ttft).toBeLessThanOrEqual(seenFirst);
    const duration = (span?.duration[0] ?? 0) + (span?.duration[1] ?? 0) / 1e9;
    expect(duration).toBeGreaterThan(ttft + 0.05); // 4 more chunks, 20 ms apart
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_sum', { provider: 'gcp.gemini' })[0]?.value).toBeCloseTo(ttft, 6);
    expect(find(s, 'llmscope_llm_cost_usd_total', { provider: 'gcp.gemini' })[0]?.value).toBeCloseTo(usd('gemini-2.5-flash', 'google', { input_tokens: 40, output_tokens: 9 }), 12);
  });

  test('a stream left early ends the call as cancelled, output estimated', async () => {
    const scope = new Llmscope(scopeOptions);
    const ai = gemini();
    llm.enqueue({ chunks: 4, chunkDelayMs: 10, usage: { input: 5, output: 4 } });
    await inRequest(scope, async () => {
      const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
      for await (const chunk of stream) if (chunk.text !== undefined) break;
    });
    const span = llmSpans()[0];
    expect(span?.attributes).toMatchObject({ 'llmscope.stream.cancelled': true, 'gen_ai.usage.input_tokens': 5, 'llmscope.usage.estimated': true });
  });

  test('embedContent: an embeddings call', async () => {
    const scope = new Llmscope(scopeOptions);
    const ai = gemini();
    llm.enqueue({ dimensions: 16 });
    const result = await inRequest(scope, () => ai.models.embedContent({ model: 'models/gemini-embedding-001', contents: ['a', 'b'] }));
    expect(result.embeddings?.[0]?.values).toHaveLength(16);
    const span = llmSpans()[0];
    expect(span?.name).toBe('embeddings gemini-embedding-001');
    expect(span?.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.embeddings.dimension.count': 16 });
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { operation: 'embeddings', provider: 'gcp.gemini' })[0]?.value).toBe(1);
  });

  test('errors: the ApiError passes through, the call is failed with its type', async () => {
    const scope = new Llmscope(scopeOptions);
    const ai = gemini();
    llm.enqueue({ status: 429, errorMessage: 'quota' }, { status: 500 });
    const failed = inRequest(scope, () => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    await expect(failed).rejects.toBeInstanceOf(ApiError);
    await expect(inRequest(scope, async () => {
      const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
      for await (const _ of stream) void _;
    })).rejects.toMatchObject({ status: 500 });
    const spans = llmSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) expect(span.attributes['error.type']).toBe('ApiError');
    const s = await samples(scope);
    expect(find(s, 'llmscope_llm_errors_total', { provider: 'gcp.gemini', error_type: 'ApiError' })[0]?.value).toBe(2);
  });

  test('vertexai clients are gcp.vertex_ai; instrumenting twice is harmless; inside traceLLM for the same operation, one call', async () => {
    const scope = new Llmscope(scopeOptions);
    // Vertex AI express mode (an API key) against the same server: only the provider differs.
    const vertex = instrumentGoogleGenAI(new GoogleGenAI({ vertexai: true, apiKey: 'k', httpOptions: httpOptions() }));
    await inRequest(scope, () => vertex.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    expect(llmSpans()[0]?.attributes['gen_ai.provider.name']).toBe('gcp.vertex_ai');
    exporter.reset();
    const ai = instrumentGoogleGenAI(gemini());
    llm.enqueue({ usage: { input: 3, output: 2 } });
    await inRequest(scope, () => traceLLM({ model: 'gemini-2.5-flash', provider: 'gcp.gemini', operation: 'generate_content' }, () =>
      ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' })));
    const spans = llmSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['gen_ai.usage.output_tokens']).toBe(2);
  });
});
