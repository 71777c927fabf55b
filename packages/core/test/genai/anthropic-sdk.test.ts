import Anthropic from '@anthropic-ai/sdk';
import { find, type LlmServer } from '@llmscope/testkit';
import { Llmscope, instrumentAnthropic } from '../../src';
import { exporter, inRequest, llmSpans, samples, scopeOptions, usd, useLlmServer } from './sdk-harness';

describe('instrumentAnthropic against the real @anthropic-ai/sdk client', () => {
  const server = useLlmServer();
  let llm: LlmServer;
  beforeAll(() => {
    llm = server();
  });

  function anthropic(): Anthropic {
    return instrumentAnthropic(new Anthropic({ apiKey: 'test-key', baseURL: llm.anthropicBaseURL, maxRetries: 2 }));
  }

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
    llm.enqueue({ firstChunkDelayMs: 120, chunkDelayMs: 20, usage: { input: 30, output: 11 } }, { usage: { input: 7, output: 4 } });
    let seenFirst = 0; // seconds from just before the call to the loop's first event
    const final = await inRequest(scope, async () => {
      const before = performance.now();
      const stream = await client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const event of stream) if (seenFirst === 0 && event.type === 'message_start') seenFirst = (performance.now() - before) / 1000;
      return client.messages.stream({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'again' }] }).finalMessage();
    });
    expect(final.usage.output_tokens).toBe(4);
    const [first, second] = llmSpans();
    expect(first?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 11, 'gen_ai.response.finish_reasons': ['end_turn'] });
    const ttft = first?.attributes['gen_ai.response.time_to_first_chunk'] as number;
    expect(ttft).toBeGreaterThanOrEqual(0.12);
    // Bounded by when the app's loop got the first event, measured around the call (no absolute
    // bound: 0.1 s of slack failed at 0.287 s on a loaded 2-core machine).
    expect(ttft).toBeLessThanOrEqual(seenFirst);
    const duration = (first?.duration[0] ?? 0) + (first?.duration[1] ?? 0) / 1e9;
    expect(duration).toBeGreaterThan(ttft + 0.05); // the later events, 20 ms apart
    expect(second?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 4 });
    // messages.stream() starts the SDK's span before calling messages.create(): still one call.
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'anthropic' }).reduce((n, x) => n + x.value, 0)).toBe(2);
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

  test('beta messages: beta.messages.create and beta.messages.stream() are LLM calls, counted once', async () => {
    const scope = new Llmscope(scopeOptions);
    const client = anthropic();
    llm.enqueue({ usage: { input: 20, output: 6, cacheRead: 100 } }, { firstChunkDelayMs: 60, usage: { input: 8, output: 3 } });
    const final = await inRequest(scope, async () => {
      const msg = await client.beta.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], betas: ['context-management-2025-06-27'] });
      expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from the llmscope testkit.' });
      return client.beta.messages.stream({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'again' }] }).finalMessage();
    });
    expect(final.usage.output_tokens).toBe(3);
    expect(llm.requests.map((r) => r.api)).toEqual(['messages', 'messages']);
    expect(llm.requests[0]?.headers['anthropic-beta']).toContain('context-management-2025-06-27');
    const [created, streamed] = llmSpans();
    expect(llmSpans()).toHaveLength(2);
    expect(created?.attributes).toMatchObject({ 'gen_ai.request.max_tokens': 64, 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.cache_read.input_tokens': 100, 'gen_ai.usage.output_tokens': 6 });
    expect(streamed?.attributes).toMatchObject({ 'gen_ai.request.stream': true, 'gen_ai.usage.input_tokens': 8, 'gen_ai.usage.output_tokens': 3 });
    expect(streamed?.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0.06);
    // The SDK's own spans (children of these) are not counted again.
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'anthropic' }).reduce((n, x) => n + x.value, 0)).toBe(2);
  });
});
