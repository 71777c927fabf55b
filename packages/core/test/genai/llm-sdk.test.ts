import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { calcPrice } from '@pydantic/genai-prices';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LlmServer, memoryExporter, find, parseMetrics, type Sample } from '@llmscope/testkit';
import { Llmscope, instrumentAnthropic, instrumentOpenAI, traceLLM } from '../../src';

const exporter = memoryExporter();
let llm: LlmServer;

beforeAll(async () => {
  llm = await LlmServer.start();
});
afterAll(() => llm.close());
afterEach(() => {
  exporter.reset();
  llm.reset();
});

async function samples(scope: Llmscope): Promise<Sample[]> {
  return parseMetrics((await scope.handleMetrics(undefined)).body);
}

/** Runs `fn` inside a request of `scope`, as an adapter would. */
async function inRequest<T>(scope: Llmscope, fn: () => Promise<T>): Promise<T> {
  const ctx = scope.startRequest('POST', '/chat', { 'x-user-id': 'u1', 'x-session-id': 's1' }, undefined);
  try {
    return await scope.run(ctx, fn);
  } finally {
    scope.finishRequest(ctx, 200);
  }
}

function llmSpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === '@llmscope/core' && s.kind === SpanKind.CLIENT);
}

function openai(maxRetries = 2, timeout?: number): OpenAI {
  return instrumentOpenAI(new OpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL, maxRetries, timeout }));
}

function anthropic(): Anthropic {
  return instrumentAnthropic(new Anthropic({ apiKey: 'test-key', baseURL: llm.anthropicBaseURL, maxRetries: 2 }));
}

function usd(model: string, provider: string, usage: Record<string, number>): number {
  const r = calcPrice(usage, model, { providerId: provider });
  if (r === null) throw new Error(`no price for ${model}`);
  return r.total_price;
}

const scopeOptions = { metrics: { defaultMetrics: false } } as const;

describe('instrumentOpenAI against the real openai client', () => {
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
    const text = await inRequest(scope, async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      expect(llmSpans()).toHaveLength(0); // still open: the answer has not been read
      let out = '';
      for await (const chunk of stream) out += chunk.choices[0]?.delta.content ?? '';
      return out;
    });
    expect(text).toBe('Hello from the llmscope testkit.');
    const [span] = llmSpans();
    const ttft = span?.attributes['gen_ai.response.time_to_first_chunk'] as number;
    expect(ttft).toBeGreaterThanOrEqual(delay / 1000);
    // Generous: a loaded 2-core machine delays the first chunk too (0.1 s of slack failed once at
    // 0.296 s). That it is the first chunk, not the end of the stream, is the next check.
    expect(ttft).toBeLessThan(delay / 1000 + 0.5);
    const duration = (span?.duration[0] ?? 0) + (span?.duration[1] ?? 0) / 1e9;
    expect(duration).toBeGreaterThan(ttft + 0.05); // 5 more chunks, 20 ms apart
    expect(span?.attributes).toMatchObject({ 'gen_ai.request.stream': true, 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.output_tokens': 9, 'gen_ai.response.finish_reasons': ['stop'] });
    expect(span?.attributes['llmscope.usage.estimated']).toBeUndefined();
    const s = await samples(scope);
    const [h] = find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_sum', { model: 'gpt-4o-mini' });
    expect(h?.value).toBeCloseTo(ttft, 6);
    expect(find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_bucket', { model: 'gpt-4o-mini', le: '0.32' })[0]?.value).toBe(1);
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
});

describe('instrumentAnthropic against the real @anthropic-ai/sdk client', () => {
  test('message: input tokens include the prompt cache, priced at the cache rates', async () => {
    const scope = new Llmscope(scopeOptions);
    const client = anthropic();
    llm.enqueue({ usage: { input: 100, output: 50, cacheRead: 2000, cacheCreation: 500 } });
    const msg = await inRequest(scope, () => client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }));
    expect(msg.content[0]).toEqual({ type: 'text', text: 'Hello from the llmscope testkit.' });
    const spans = llmSpans();
    // The SDK emits its own span as a child; it must not be counted again.
    expect(spans).toHaveLength(1);
    const span = spans[0];
    expect(span?.attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic', 'gen_ai.request.max_tokens': 100, 'gen_ai.usage.input_tokens': 2600, 'gen_ai.usage.output_tokens': 50,
      'gen_ai.usage.cache_read.input_tokens': 2000, 'gen_ai.usage.cache_creation.input_tokens': 500, 'gen_ai.response.finish_reasons': ['end_turn'],
    });
    const expected = usd('claude-3-5-haiku-latest', 'anthropic', { input_tokens: 2600, output_tokens: 50, cache_read_tokens: 2000, cache_write_tokens: 500 });
    expect(span?.attributes['llmscope.cost.usd']).toBeCloseTo(expected, 12);
    // By hand, from the table's rates: uncached 100 × 0.8, cache read 2000 × 0.08, cache write 500 × 1, output 50 × 4 (USD per million).
    expect(expected).toBeCloseTo((100 * 0.8 + 2000 * 0.08 + 500 * 1 + 50 * 4) / 1e6, 12);
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'anthropic' }).reduce((n, x) => n + x.value, 0)).toBe(1);
  });

  test('streamed message: time to first chunk, usage from message_start and message_delta; messages.stream() too', async () => {
    const scope = new Llmscope(scopeOptions);
    const client = anthropic();
    llm.enqueue({ firstChunkDelayMs: 120, usage: { input: 30, output: 11 } }, { usage: { input: 7, output: 4 } });
    const final = await inRequest(scope, async () => {
      const stream = await client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const event of stream) void event;
      return client.messages.stream({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'again' }] }).finalMessage();
    });
    expect(final.usage.output_tokens).toBe(4);
    const [first, second] = llmSpans();
    expect(first?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 11, 'gen_ai.response.finish_reasons': ['end_turn'] });
    const ttft = first?.attributes['gen_ai.response.time_to_first_chunk'] as number;
    expect(ttft).toBeGreaterThanOrEqual(0.12);
    expect(ttft).toBeLessThan(0.22);
    expect(second?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 4 });
  });

  test('without instrumentAnthropic, the SDK\'s own GenAI span still feeds the metrics (span-derived)', async () => {
    const scope = new Llmscope(scopeOptions);
    const plain = new Anthropic({ apiKey: 'test-key', baseURL: llm.anthropicBaseURL });
    llm.enqueue({ usage: { input: 40, output: 5 } });
    await inRequest(scope, () => plain.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [] }));
    expect(llmSpans()).toHaveLength(0);
    const sdkSpan = exporter.getFinishedSpans().find((x) => x.attributes['gen_ai.operation.name'] === 'chat');
    expect(sdkSpan?.instrumentationScope.name).not.toBe('@llmscope/core');
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'anthropic', model: 'claude-3-5-haiku-latest' })[0]?.value).toBe(1);
    expect(find(s, 'llmscope_llm_tokens_total', { provider: 'anthropic', token_type: 'output' })[0]?.value).toBe(5);
    expect(find(s, 'llmscope_llm_cost_usd_total', { provider: 'anthropic' })[0]?.value).toBeGreaterThan(0);
  });

  test('overloaded (529) then success: retried and counted', async () => {
    const scope = new Llmscope(scopeOptions);
    llm.enqueue({ status: 529, retryAfterSeconds: 0.01 }, {});
    await inRequest(scope, () => anthropic().messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [] }));
    expect(llmSpans()[0]?.attributes['llmscope.retries']).toBe(1);
  });
});
