import type OpenAI6 from 'openai';
import { SpanStatusCode } from '@opentelemetry/api';
import { find, type LlmServer } from '@llmscope/testkit';
import { Llmscope, instrumentOpenAI, traceLLM } from '../../src';
import { inRequest, llmSpans, samples, scopeOptions, usd, useLlmServer } from './sdk-harness';

/**
 * The `openai` client class of one major. The suite is written against openai 6's declarations;
 * the other majors' clients have the same public API (TypeScript tells the classes apart only by
 * their private members), see openai7-sdk.node22.test.ts.
 */
export type OpenAIClass = typeof OpenAI6;
type OpenAIClient = OpenAI6;

/**
 * instrumentOpenAI's suite, run against the real client of one `openai` major (its package as
 * installed: `openai`, or an npm alias such as `openai7`) and the testkit's LLM server. `major`
 * is checked against the version the client sends, so the file runs the major it says.
 */
export function describeOpenAI(major: number, OpenAI: OpenAIClass): void {
  describe(`instrumentOpenAI against the real openai client (openai ${major})`, () => {
    const server = useLlmServer();
    let llm: LlmServer;
    beforeAll(() => {
      llm = server();
    });

    function openai(maxRetries = 2, timeout?: number): OpenAIClient {
      return instrumentOpenAI(new OpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL, maxRetries, timeout }));
    }

    test(`the client is openai ${major}`, async () => {
      await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
      expect(String(llm.requests[0]?.headers['x-stainless-package-version'])).toMatch(new RegExp(`^${major}\\.`));
    });

    test('chat completion: span per the GenAI conventions, tokens, cost from the price table, metrics', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      llm.enqueue({ usage: { input: 1200, output: 300, cacheRead: 1000 }, model: 'gpt-4o-mini-2024-07-18' });
      const reply = await inRequest(scope, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0.3, max_tokens: 50 }));
      expect(reply.choices[0]?.message.content).toBe('Hello from the llmscope testkit.');
      const [span] = llmSpans();
      expect(span?.name).toBe('chat gpt-4o-mini');
      const expectedCost = usd('gpt-4o-mini', 'openai', { input_tokens: 1200, output_tokens: 300, cache_read_tokens: 1000 });
      expect(span?.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.request.temperature': 0.3, 'gen_ai.request.max_tokens': 50,
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.response.id': 'chatcmpl-testkit1', 'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 300, 'gen_ai.usage.cache_read.input_tokens': 1000,
        'gen_ai.conversation.id': 's1', 'user.id': 'u1',
      });
      expect(span?.attributes['llmscope.cost.usd']).toBeCloseTo(expectedCost, 12);
      // Cached input is cheaper than uncached: the cost is below the no-cache price.
      expect(expectedCost).toBeLessThan(usd('gpt-4o-mini', 'openai', { input_tokens: 1200, output_tokens: 300 }));
      expect(span?.attributes['gen_ai.input.messages']).toBeUndefined();
      const s = await samples(scope);
      const labels = { operation: 'chat', provider: 'openai', model: 'gpt-4o-mini' };
      expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { ...labels, outcome: 'ok' })[0]?.value).toBe(1);
      expect(find(s, 'gen_ai_client_token_usage_sum', { ...labels, token_type: 'input' })[0]?.value).toBe(1200);
      expect(find(s, 'gen_ai_client_token_usage_bucket', { ...labels, token_type: 'output', le: '1024' })[0]?.value).toBe(1);
      expect(find(s, 'gen_ai_client_token_usage_bucket', { ...labels, token_type: 'output', le: '256' })[0]?.value).toBe(0);
      expect(find(s, 'llmscope_llm_tokens_total', { ...labels, token_type: 'cache_read' })[0]?.value).toBe(1000);
      expect(find(s, 'llmscope_llm_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini', feature: 'none' })[0]?.value).toBeCloseTo(expectedCost, 12);
      // 1200 input tokens of a 128k window.
      expect(find(s, 'llmscope_llm_context_window_utilization_ratio_sum', { model: 'gpt-4o-mini' })[0]?.value).toBeCloseTo(1200 / 128000, 9);
      expect(find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_count')).toHaveLength(0);
    });

    test('streaming: time to first chunk at the first chunk, usage from the final usage chunk, span ends with the stream', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      const delay = 150;
      llm.enqueue({ firstChunkDelayMs: delay, chunkDelayMs: 20, usage: { input: 40, output: 9 } });
      let seenFirst = 0; // seconds from just before the call to the loop's first chunk
      const text = await inRequest(scope, async () => {
        const before = performance.now();
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
        expect(llmSpans()).toHaveLength(0); // still open: the answer has not been read
        let out = '';
        for await (const chunk of stream) {
          if (seenFirst === 0) seenFirst = (performance.now() - before) / 1000;
          out += chunk.choices[0]?.delta.content ?? '';
        }
        return out;
      });
      expect(text).toBe('Hello from the llmscope testkit.');
      const [span] = llmSpans();
      const ttft = span?.attributes['gen_ai.response.time_to_first_chunk'] as number;
      expect(ttft).toBeGreaterThanOrEqual(delay / 1000);
      // Bounded by when the app's loop got the first chunk, measured around the call (no absolute
      // bound: a loaded 2-core machine delays the first chunk by 0.5 s at times).
      expect(ttft).toBeLessThanOrEqual(seenFirst);
      const duration = (span?.duration[0] ?? 0) + (span?.duration[1] ?? 0) / 1e9;
      expect(duration).toBeGreaterThan(ttft + 0.05); // 5 more chunks, 20 ms apart
      expect(span?.attributes).toMatchObject({ 'gen_ai.request.stream': true, 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.output_tokens': 9, 'gen_ai.response.finish_reasons': ['stop'] });
      expect(span?.attributes['llmscope.usage.estimated']).toBeUndefined();
      const s = await samples(scope);
      const [h] = find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_sum', { model: 'gpt-4o-mini' });
      expect(h?.value).toBeCloseTo(ttft, 6);
      // The bucket is chosen from the measured ttft, not a fixed bound: a loaded CI machine has
      // delayed the first chunk past 0.32 s.
      const buckets = find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_bucket', { model: 'gpt-4o-mini' })
        .map((b) => ({ le: Number(b.labels.le), value: b.value }))
        .sort((a, b) => a.le - b.le);
      const first = buckets.findIndex((b) => b.le >= ttft);
      expect(first).toBeGreaterThan(0);
      expect(buckets[first]?.value).toBe(1);
      expect(buckets[first - 1]?.value).toBe(0);
      expect(find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_bucket', { model: 'gpt-4o-mini', le: '0.08' })[0]?.value).toBe(0);
    });

    test('a stream without usage gets estimated output tokens, and the span says so', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      await inRequest(scope, async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
        for await (const chunk of stream) void chunk;
      });
      const [span] = llmSpans();
      const chars = 'Hello from the llmscope testkit.'.length;
      expect(span?.attributes).toMatchObject({ 'llmscope.usage.estimated': true, 'gen_ai.usage.output_tokens': Math.ceil(chars / 4) });
      expect(span?.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    });

    test('includeStreamUsage asks for the usage chunk when the app did not', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = instrumentOpenAI(new OpenAI({ apiKey: 'k', baseURL: llm.openaiBaseURL }), { includeStreamUsage: true });
      llm.enqueue({ usage: { input: 5, output: 6 } });
      await inRequest(scope, async () => {
        for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true })) void chunk;
      });
      expect(llm.requests[0]?.body.stream_options).toEqual({ include_usage: true });
      expect(llmSpans()[0]?.attributes['gen_ai.usage.output_tokens']).toBe(6);
    });

    test('leaving a stream early (break) ends the span, marked cancelled, not failed', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      llm.enqueue({ chunks: 10, chunkDelayMs: 5 });
      await inRequest(scope, async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
      });
      const [span] = llmSpans();
      expect(span?.attributes['llmscope.stream.cancelled']).toBe(true);
      expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(find(await samples(scope), 'gen_ai_client_operation_duration_seconds_count', { outcome: 'ok' })[0]?.value).toBe(1);
    });

    test('429 with retry-after is retried by the SDK, and the retry is counted', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      llm.enqueue({ status: 429, retryAfterSeconds: 0.01 }, { usage: { input: 3, output: 2 } });
      await inRequest(scope, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }));
      expect(llm.requests.map((r) => r.status)).toEqual([429, 200]);
      expect(llm.requests[1]?.headers['x-stainless-retry-count']).toBe('1');
      const [span] = llmSpans();
      expect(span?.attributes['llmscope.retries']).toBe(1);
      expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(find(await samples(scope), 'llmscope_llm_retries_total', { model: 'gpt-4o-mini' })[0]?.value).toBe(1);
    });

    test('errors get their error.type: 401, 500 after retries, 429 out of retries, timeout', async () => {
      const scope = new Llmscope(scopeOptions);
      llm.enqueue({ status: 401 });
      await expect(inRequest(scope, () => openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [] }))).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      llm.enqueue({ status: 500, retryAfterSeconds: 0.01 }, { status: 500, retryAfterSeconds: 0.01 }, { status: 500, retryAfterSeconds: 0.01 });
      await expect(inRequest(scope, () => openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [] }))).rejects.toBeInstanceOf(OpenAI.InternalServerError);
      llm.enqueue({ status: 429, retryAfterSeconds: 0.01 });
      await expect(inRequest(scope, () => openai(0).chat.completions.create({ model: 'gpt-4o-mini', messages: [] }))).rejects.toBeInstanceOf(OpenAI.RateLimitError);
      llm.enqueue({ headersDelayMs: 2000 });
      // The SDK's timeout: APIConnectionTimeoutError in Node; under Jest's VM the abort error comes
      // from another realm and the SDK reports its parent class, APIConnectionError.
      const timeout = await inRequest(scope, () => openai(0, 100).chat.completions.create({ model: 'gpt-4o-mini', messages: [] })).catch((e: unknown) => e);
      expect(timeout).toBeInstanceOf(OpenAI.APIConnectionError);
      const timeoutType = (timeout as Error).constructor.name;
      const spans = llmSpans();
      expect(spans.map((s) => s.attributes['error.type'])).toEqual(['AuthenticationError', 'InternalServerError', 'RateLimitError', timeoutType]);
      for (const span of spans) expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(spans[1]?.attributes['llmscope.retries']).toBe(2);
      const s = await samples(scope);
      for (const type of ['AuthenticationError', 'InternalServerError', 'RateLimitError', timeoutType]) {
        expect(find(s, 'llmscope_llm_errors_total', { model: 'gpt-4o-mini', error_type: type })[0]?.value).toBe(1);
      }
      expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini', outcome: 'error' })[0]?.value).toBe(4);
      expect(find(s, 'llmscope_llm_retries_total', { model: 'gpt-4o-mini' })[0]?.value).toBe(2);
    });

    test('responses API (streamed) and embeddings', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      llm.enqueue({ usage: { input: 20, output: 8, cacheRead: 10 }, firstChunkDelayMs: 50 }, { usage: { input: 6 }, dimensions: 16 });
      await inRequest(scope, async () => {
        const stream = await client.responses.create({ model: 'gpt-4o', input: 'hi', stream: true });
        for await (const event of stream) void event;
        const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
        expect(e.data[0]?.embedding).toHaveLength(16);
      });
      const [resp, emb] = llmSpans();
      expect(resp?.name).toBe('chat gpt-4o');
      expect(resp?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 8, 'gen_ai.usage.cache_read.input_tokens': 10, 'gen_ai.response.id': 'resp_testkit1' });
      expect(resp?.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0.05);
      expect(emb?.name).toBe('embeddings text-embedding-3-small');
      expect(emb?.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.usage.input_tokens': 6 });
      expect(emb?.attributes['llmscope.cost.usd']).toBeCloseTo(usd('text-embedding-3-small', 'openai', { input_tokens: 6 }), 14);
      const s = await samples(scope);
      expect(find(s, 'gen_ai_client_token_usage_count', { operation: 'embeddings', token_type: 'input' })[0]?.value).toBe(1);
    });

    test('an instrumented call inside traceLLM() is one call: one span, one count, retries and stream kept', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      llm.enqueue({ status: 429, retryAfterSeconds: 0.01 }, { usage: { input: 8, output: 3 } }, { firstChunkDelayMs: 60, usage: { input: 2, output: 1 } });
      await inRequest(scope, async () => {
        await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', feature: 'faq' }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }));
        const stream = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true, stream_options: { include_usage: true } }));
        for await (const chunk of stream) void chunk;
      });
      const [first, second] = llmSpans();
      expect(llmSpans()).toHaveLength(2);
      expect(first?.attributes).toMatchObject({ 'llmscope.feature': 'faq', 'llmscope.retries': 1, 'gen_ai.usage.input_tokens': 8 });
      expect(second?.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0.06);
      expect(second?.attributes['gen_ai.usage.output_tokens']).toBe(1);
      const s = await samples(scope);
      expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' })[0]?.value).toBe(2);
      expect(find(s, 'llmscope_llm_retries_total', { model: 'gpt-4o-mini' })[0]?.value).toBe(1);
    });

    test('withResponse() and asResponse() still work on an instrumented call', async () => {
      const scope = new Llmscope(scopeOptions);
      const { data, response } = await inRequest(scope, () => openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).withResponse());
      expect(response.status).toBe(200);
      expect(data.id).toBe('chatcmpl-testkit1');
      expect(llmSpans()).toHaveLength(1);
      expect(llmSpans()[0]?.attributes['gen_ai.usage.input_tokens']).toBe(12);
      const raw = await inRequest(scope, () => openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).asResponse());
      expect(raw.status).toBe(200);
      expect(llmSpans()).toHaveLength(2); // ended without usage: the SDK never parsed the body
    });

    test('the helpers built on create are one call each: chat.completions.stream(), .parse(), responses.stream()', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai();
      llm.enqueue({ usage: { input: 9, output: 4 } }, { text: '{"answer":4}', usage: { input: 5, output: 3 } }, { usage: { input: 7, output: 2 } });
      const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'], additionalProperties: false };
      const [streamed, parsed, response] = await inRequest(scope, async () => {
        const runner = client.chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
        const final = await runner.finalChatCompletion();
        const structured = await client.chat.completions.parse({ model: 'gpt-4o-mini', messages: [], response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } } });
        return [final, structured, await client.responses.stream({ model: 'gpt-4o', input: 'hi' }).finalResponse()] as const;
      });
      expect(streamed.choices[0]?.message.content).toBe('Hello from the llmscope testkit.');
      expect(parsed.choices[0]?.message.parsed).toEqual({ answer: 4 });
      expect(response.output_text).toBe('Hello from the llmscope testkit.');
      const spans = llmSpans();
      expect(spans.map((s) => s.name)).toEqual(['chat gpt-4o-mini', 'chat gpt-4o-mini', 'chat gpt-4o']);
      expect(spans.map((s) => [s.attributes['gen_ai.usage.input_tokens'], s.attributes['gen_ai.usage.output_tokens']])).toEqual([[9, 4], [5, 3], [7, 2]]);
      expect(spans[0]?.attributes['gen_ai.request.stream']).toBe(true);
      expect(spans[2]?.attributes['gen_ai.request.stream']).toBe(true);
      expect(find(await samples(scope), 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' })[0]?.value).toBe(2);
    });

    test('a helper\'s failure is the call\'s: .parse() and responses.stream() answered 401', async () => {
      const scope = new Llmscope(scopeOptions);
      const client = openai(0);
      llm.enqueue({ status: 401 }, { status: 401 });
      await expect(inRequest(scope, () => client.chat.completions.parse({ model: 'gpt-4o-mini', messages: [] }))).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      await expect(inRequest(scope, () => client.responses.stream({ model: 'gpt-4o', input: 'hi' }).finalResponse())).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const spans = llmSpans();
      expect(spans.map((s) => s.attributes['error.type'])).toEqual(['AuthenticationError', 'AuthenticationError']);
      expect(find(await samples(scope), 'llmscope_llm_errors_total', { error_type: 'AuthenticationError' }).reduce((n, x) => n + x.value, 0)).toBe(2);
    });
  });
}
