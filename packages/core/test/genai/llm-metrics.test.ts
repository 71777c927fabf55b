import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { calcPrice } from '@pydantic/genai-prices';
import { Registry } from 'prom-client';
import {
  Llmscope, LlmscopeConfigError, getCostReport, recordCacheLookup, retrievalAttributes, embeddingAttributes, step,
  traceLLM, trackQueueDepth,
} from '../../src';
import { PriceBook } from '../../src/genai/cost/prices';
import { memoryExporter, find, parseMetrics, type Sample } from '@llmscope/testkit';

const exporter = memoryExporter();
afterEach(() => exporter.reset());

async function samples(scope: Llmscope): Promise<Sample[]> {
  return parseMetrics((await scope.handleMetrics(undefined)).body);
}

function total(s: Sample[], name: string, labels: Record<string, string> = {}): number {
  return find(s, name, labels).reduce((n, x) => n + x.value, 0);
}

async function inRequest<T>(scope: Llmscope, fn: () => Promise<T> | T, headers: Record<string, string> = {}): Promise<T> {
  const ctx = scope.startRequest('POST', '/chat', headers, undefined);
  try {
    return await scope.run(ctx, fn);
  } finally {
    scope.finishRequest(ctx, 200);
  }
}

const quiet = { metrics: { defaultMetrics: false } } as const;
const reply = (input: number, output: number) => async () => ({ id: 'r1', usage: { prompt_tokens: input, completion_tokens: output } });

describe('metrics derived from any span with GenAI attributes', () => {
  test('a span made by another tracer with gen_ai.* attributes shows up in /metrics, priced', async () => {
    const scope = new Llmscope(quiet);
    const other = trace.getTracer('@opentelemetry/instrumentation-openai', '0.1.0');
    await inRequest(scope, () => {
      const span = other.startSpan('chat gpt-4o', {
        kind: SpanKind.CLIENT,
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' },
      });
      span.setAttributes({ 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100, 'gen_ai.response.model': 'gpt-4o-2024-08-06' });
      span.end();
      const failed = other.startSpan('embeddings text-embedding-3-small', { attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'text-embedding-3-small' } });
      failed.setStatus({ code: SpanStatusCode.ERROR });
      failed.setAttribute('error.type', 'RateLimitError');
      failed.end();
      other.startSpan('GET /not-genai').end();
    });
    const s = await samples(scope);
    expect(total(s, 'gen_ai_client_operation_duration_seconds_count', { operation: 'chat', provider: 'openai', model: 'gpt-4o', outcome: 'ok' })).toBe(1);
    expect(total(s, 'llmscope_llm_tokens_total', { model: 'gpt-4o', token_type: 'input' })).toBe(1000);
    const price = calcPrice({ input_tokens: 1000, output_tokens: 100 }, 'gpt-4o-2024-08-06', { providerId: 'openai' })?.total_price;
    expect(total(s, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o' })).toBeCloseTo(price as number, 12);
    expect(total(s, 'llmscope_llm_errors_total', { operation: 'embeddings', provider: 'openai', error_type: 'RateLimitError' })).toBe(1);
    expect(total(s, 'gen_ai_client_operation_duration_seconds_count')).toBe(2);
  });

  test('metrics come from 100% of calls: tracing off, or a span sampled out', async () => {
    const off = new Llmscope({ ...quiet, tracing: false });
    await inRequest(off, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, reply(10, 5)));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(total(await samples(off), 'llmscope_llm_tokens_total', { token_type: 'output' })).toBe(5);

    const on = new Llmscope(quiet);
    const unsampled = trace.setSpanContext(context.active(), { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true });
    await context.with(unsampled, () => on.traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, reply(7, 3)));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    const s = await samples(on);
    expect(total(s, 'gen_ai_client_operation_duration_seconds_count')).toBe(1);
    expect(total(s, 'llmscope_llm_cost_usd_total')).toBeGreaterThan(0);
  });

  test('two instances in one process: each call counted once, by the instance owning its request', async () => {
    const a = new Llmscope(quiet);
    const b = new Llmscope(quiet);
    const other = trace.getTracer('langchain');
    await inRequest(a, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, reply(10, 1)));
    let ended!: Promise<void>;
    await inRequest(b, () => {
      const span = other.startSpan('chat claude', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-3-5-haiku-latest' } });
      span.setAttribute('gen_ai.usage.input_tokens', 20);
      // Ended outside the request's function: routed by where it started.
      ended = new Promise((done) => setImmediate(() => {
        span.end();
        done();
      }));
      return new Promise((r) => setTimeout(r, 5));
    });
    // On a loaded machine the 5 ms timer can fire before the immediate: wait for the end itself.
    await ended;
    // Outside any request: the latest instance (b).
    other.startSpan('chat x', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' } }).end();
    const sa = await samples(a);
    const sb = await samples(b);
    expect(total(sa, 'gen_ai_client_operation_duration_seconds_count')).toBe(1);
    expect(total(sa, 'llmscope_llm_tokens_total', { token_type: 'input' })).toBe(10);
    expect(total(sb, 'gen_ai_client_operation_duration_seconds_count')).toBe(2);
    expect(total(sb, 'llmscope_llm_tokens_total', { provider: 'anthropic', token_type: 'input' })).toBe(20);
    expect(total(sb, 'llmscope_llm_tokens_total', { provider: 'openai' })).toBe(0);
  });

  test('two instances sharing one registry: calls counted once, both instances\' queues reported', async () => {
    const registry = new Registry();
    const a = new Llmscope({ metrics: { registry, defaultMetrics: false } });
    const stopA = trackQueueDepth('qa', () => 1);
    const b = new Llmscope({ metrics: { registry, defaultMetrics: false, path: '/m2' } });
    const stopB = trackQueueDepth('qb', () => 2);
    await inRequest(a, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, reply(4, 1)));
    await inRequest(b, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, reply(6, 1)));
    const s = await samples(a);
    expect(total(s, 'gen_ai_client_operation_duration_seconds_count')).toBe(2);
    expect(total(s, 'llmscope_llm_tokens_total', { token_type: 'input' })).toBe(10);
    expect(find(s, 'llmscope_queue_depth').map((x) => [x.labels.queue, x.value])).toEqual([['qa', 1], ['qb', 2]]);
    stopA();
    stopB();
  });

  test('a GenAI span nested in a traceLLM span of the same operation is the same call: counted once', async () => {
    const scope = new Llmscope(quiet);
    const other = trace.getTracer('@opentelemetry/instrumentation-openai');
    await inRequest(scope, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
      const inner = other.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 10 } });
      inner.end();
      const tool = other.startSpan('execute_tool lookup', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup' } });
      tool.end();
      return { usage: { prompt_tokens: 10, completion_tokens: 2 } };
    }));
    const s = await samples(scope);
    expect(total(s, 'gen_ai_client_operation_duration_seconds_count', { operation: 'chat' })).toBe(1);
    expect(total(s, 'llmscope_llm_tokens_total', { token_type: 'input' })).toBe(10);
    expect(total(s, 'gen_ai_client_operation_duration_seconds_count', { operation: 'execute_tool' })).toBe(1);
  });
});

describe('cost', () => {
  test('an unknown model gets no cost attribute (not 0) and counts as unpriced', async () => {
    const scope = new Llmscope(quiet);
    await inRequest(scope, () => traceLLM({ model: 'my-own-model', provider: 'vllm' }, reply(10, 5)));
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes['gen_ai.usage.input_tokens']).toBe(10);
    expect(span?.attributes).not.toHaveProperty(['llmscope.cost.usd']);
    const s = await samples(scope);
    expect(total(s, 'llmscope_llm_unpriced_calls_total', { provider: 'vllm', model: 'my-own-model' })).toBe(1);
    expect(find(s, 'llmscope_llm_cost_usd_total')).toHaveLength(0);
  });

  test('price overrides for custom and self-hosted models, by model or provider:model', async () => {
    const scope = new Llmscope({ ...quiet, llm: { prices: {
      'my-own-model': { inputPerMTok: 1, outputPerMTok: 2, cacheReadPerMTok: 0.1, contextWindow: 8000 },
      'vllm:llama-3.1-8b': { inputPerMTok: 0.2, outputPerMTok: 0.2 },
    } } });
    await inRequest(scope, () => traceLLM({ model: 'my-own-model', provider: 'vllm' }, async (call) => {
      call.setUsage({ inputTokens: 4000, outputTokens: 1000, cacheReadTokens: 2000 });
      return 'ok';
    }));
    await inRequest(scope, () => traceLLM({ model: 'llama-3.1-8b', provider: 'vllm' }, reply(1_000_000, 0)));
    const [first, second] = exporter.getFinishedSpans().filter((x) => x.kind === SpanKind.CLIENT);
    expect(first?.attributes['llmscope.cost.usd']).toBeCloseTo((2000 * 1 + 2000 * 0.1 + 1000 * 2) / 1e6, 12);
    expect(second?.attributes['llmscope.cost.usd']).toBeCloseTo(0.2, 12);
    const s = await samples(scope);
    expect(total(s, 'llmscope_llm_context_window_utilization_ratio_sum', { model: 'my-own-model' })).toBeCloseTo(0.5, 9);
    expect(find(s, 'llmscope_llm_unpriced_calls_total')).toHaveLength(0);
  });

  test('bad price overrides fail at start-up with a message that says what to change', () => {
    expect(() => new Llmscope({ llm: { prices: { m: { inputPerMTok: -1, outputPerMTok: 1 } } } })).toThrow(/llm\.prices\["m"\]\.inputPerMTok.*finite number >= 0/);
    expect(() => new Llmscope({ llm: { prices: { m: { inputPerMTok: 1 } as never } } })).toThrow(/llm\.prices\["m"\]\.outputPerMTok` is required/);
    expect(() => new Llmscope({ llm: { prices: { m: { inputPerMTok: 1, outputPerMTok: 1, cachedPerMTok: 1 } as never } } })).toThrow(LlmscopeConfigError);
    expect(() => new Llmscope({ llm: { captureContnet: true } as never })).toThrow(/unknown option `llm\.captureContnet`/);
    expect(() => new Llmscope({ llm: { attribution: { maxUsers: 0 } } })).toThrow(/llm\.attribution\.maxUsers.*positive integer/);
    expect(() => new Llmscope({ llm: { timeToFirstChunkBuckets: [1, 0.5] } })).toThrow(/increasing order/);
  });

  test('the cached price book agrees with genai-prices calcPrice, tiered and dated prices included', () => {
    const book = new PriceBook();
    const cases: [string, string, Record<string, number>][] = [
      ['openai', 'gpt-4o-mini', { input_tokens: 5000, output_tokens: 700, cache_read_tokens: 3000 }],
      ['anthropic', 'claude-sonnet-4-5', { input_tokens: 250_000, output_tokens: 1000, cache_read_tokens: 100_000, cache_write_tokens: 20_000 }],
      ['anthropic', 'claude-sonnet-4-6', { input_tokens: 1200, output_tokens: 100 }],
      ['google', 'gemini-2.5-pro', { input_tokens: 300_000, output_tokens: 2000 }],
      ['openai', 'text-embedding-3-large', { input_tokens: 900 }],
    ];
    for (const [provider, model, u] of cases) {
      const expected = calcPrice(u, model, { providerId: provider })?.total_price;
      const got = book.cost(provider === 'google' ? 'gcp.gemini' : provider, [model], {
        inputTokens: u.input_tokens, outputTokens: u.output_tokens, cacheReadTokens: u.cache_read_tokens, cacheCreationTokens: u.cache_write_tokens,
      });
      expect({ model, got }).toEqual({ model, got: expect.closeTo(expected as number, 12) });
    }
  });
});

describe('cost attribution, helpers, RAG steps, content capture', () => {
  test('cost and tokens per user, session, feature and prompt version, top-N with "other"', async () => {
    const scope = new Llmscope({ ...quiet, llm: { attribution: { maxUsers: 2 } } });
    const call = (user: string, input: number) => inRequest(scope, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai', feature: 'chat', promptName: 'answer', promptVersion: 'v2' }, reply(input, 0)), { 'x-user-id': user, 'x-session-id': `s-${user}` });
    await call('big', 100_000);
    await call('small', 10);
    await call('tiny', 1);
    await call('big', 100_000);
    const report = scope.costReport(10);
    expect(report?.total.calls).toBe(4);
    expect(report?.total.unpricedCalls).toBe(0);
    expect(report?.total.inputTokens).toBe(200_011);
    expect(report?.byUser.top.map((r) => r.key)).toEqual(['big', 'tiny']);
    expect(report?.byUser.top[0]?.costUsd).toBeCloseTo(2 * 100_000 * 0.15 / 1e6, 12);
    expect(report?.byUser.other).toMatchObject({ calls: 1, inputTokens: 10 });
    expect(report?.byFeature.top).toEqual([expect.objectContaining({ key: 'chat', calls: 4 })]);
    expect(report?.byPromptVersion.top[0]?.key).toBe('answer@v2');
    expect(report?.bySession.top).toHaveLength(3);
    // Users and sessions are never labels.
    const text = (await scope.handleMetrics(undefined)).body;
    expect(text).not.toContain('big');
    expect(await inRequest(scope, () => getCostReport(1)?.byUser.top.length)).toBe(1);
  });

  test('cache hit/miss counter and queue-depth gauge', async () => {
    const scope = new Llmscope(quiet);
    let depth = 3;
    const stop = trackQueueDepth('llm-requests', () => depth);
    await inRequest(scope, () => {
      recordCacheLookup('answers', true);
      recordCacheLookup('answers', false);
      recordCacheLookup('answers', true);
    });
    let s = await samples(scope);
    expect(find(s, 'llmscope_cache_requests_total', { cache: 'answers', result: 'hit' })[0]?.value).toBe(2);
    expect(find(s, 'llmscope_cache_requests_total', { cache: 'answers', result: 'miss' })[0]?.value).toBe(1);
    expect(find(s, 'llmscope_queue_depth', { queue: 'llm-requests' })[0]?.value).toBe(3);
    depth = 7;
    expect(find(await samples(scope), 'llmscope_queue_depth', { queue: 'llm-requests' })[0]?.value).toBe(7);
    stop();
    s = await samples(scope);
    expect(find(s, 'llmscope_queue_depth')).toHaveLength(0);
  });

  test('traceLLM observes an async generator: TTFT, usage chunk, abandoned stream ends by the idle timeout', async () => {
    const scope = new Llmscope({ ...quiet, llm: { streamIdleTimeoutMs: 400 } });
    async function* answer(): AsyncGenerator<string | { usage: { input_tokens: number; output_tokens: number } }> {
      await new Promise((r) => setTimeout(r, 60));
      yield 'Hel';
      yield 'lo';
      yield { usage: { input_tokens: 9, output_tokens: 2 } };
    }
    await inRequest(scope, async () => {
      const stream = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => answer());
      let text = '';
      for await (const piece of stream) if (typeof piece === 'string') text += piece;
      expect(text).toBe('Hello');
      traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, () => answer()); // never read
      // Ended by the idle timeout (400 ms): awaited, since a loaded machine may fire it late.
      const deadline = Date.now() + 10000;
      while (exporter.getFinishedSpans().filter((x) => x.kind === SpanKind.CLIENT).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    });
    const [read, abandoned] = exporter.getFinishedSpans().filter((x) => x.kind === SpanKind.CLIENT);
    expect(read?.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0.06);
    expect(read?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 2 });
    expect(abandoned?.attributes['llmscope.stream.abandoned']).toBe(true);
  });

  test('RAG steps: retrieval and embedding attributes, counts read from the result', async () => {
    const scope = new Llmscope(quiet);
    await inRequest(scope, async () => {
      await step('embed_query', async () => [0.1, 0.2, 0.3], embeddingAttributes({ model: 'text-embedding-3-small' }));
      await step('vector_search', async () => ['a', 'b'], retrievalAttributes({ dataSourceId: 'kb', topK: 5 }));
    });
    const spans = exporter.getFinishedSpans();
    expect(spans.find((x) => x.name === 'embed_query')?.attributes).toMatchObject({ 'gen_ai.embeddings.dimension.count': 3, 'llmscope.embedding.model': 'text-embedding-3-small' });
    expect(spans.find((x) => x.name === 'vector_search')?.attributes).toMatchObject({ 'gen_ai.data_source.id': 'kb', 'gen_ai.request.top_k': 5, 'llmscope.retrieval.documents_returned': 2 });
  });

  test('content is captured only when enabled, clipped part by part before the word the limit falls in (half a secret would escape redaction), as valid JSON', async () => {
    const scope = new Llmscope({ ...quiet, llm: { captureContent: true, maxContentLength: 5 } });
    await inRequest(scope, () => traceLLM({ model: 'm', input: [{ role: 'user', content: 'a long question' }], system: 'be brief' }, async () => ({
      choices: [{ message: { content: 'a long answer' }, finish_reason: 'stop' }],
    })));
    const [span] = exporter.getFinishedSpans().filter((x) => x.kind === SpanKind.CLIENT);
    expect(JSON.parse(span?.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'be …' }] },
      { role: 'user', parts: [{ type: 'text', content: 'a …' }] },
    ]);
    expect(JSON.parse(span?.attributes['gen_ai.output.messages'] as string)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'a …' }], finish_reason: 'stop' }]);
  });

  test('model labels are bounded by llm.maxModels', async () => {
    const scope = new Llmscope({ ...quiet, llm: { maxModels: 2 } });
    for (const m of ['m1', 'm2', 'm3', 'm4']) await inRequest(scope, () => traceLLM({ model: m }, async () => 'x'));
    const models = new Set(find(await samples(scope), 'gen_ai_client_operation_duration_seconds_count').map((x) => x.labels.model));
    expect(models).toEqual(new Set(['m1', 'm2', 'other']));
  });
});
