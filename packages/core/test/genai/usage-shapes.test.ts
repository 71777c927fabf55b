/**
 * Usage in every common shape (issue 12 item 5): whatever the result's usage looks like (OpenAI,
 * Anthropic, Gemini, the Vercel AI SDK, snake_case or camelCase), traceLLM reads the same counts,
 * puts them on the span and the record, and prices cached input and reasoning output at their
 * own rates.
 */
import { Llmscope, traceLLM, type LlmCallRecord } from '../../src';
import { exporter, inRequest, llmSpans, scopeOptions, usd } from './sdk-harness';

interface Counts {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  reasoningTokens?: number;
}

const scope = new Llmscope({
  ...scopeOptions,
  llm: { prices: { 'my-reasoner': { inputPerMTok: 1, outputPerMTok: 2, cacheReadPerMTok: 0.5, reasoningPerMTok: 10 } } },
});
const records: LlmCallRecord[] = [];
scope.onLlmCall((r) => records.push(r));

afterEach(() => {
  records.length = 0;
  exporter.reset();
});
afterAll(() => scope.shutdown());

/** The record and span of one traceLLM call returning `result`. */
async function traced(result: unknown, model = 'gpt-4o-mini', provider = 'openai'): Promise<{ record: LlmCallRecord; counts: Counts }> {
  await inRequest(scope, () => traceLLM({ model, provider }, async () => result));
  const record = records[0];
  if (record === undefined) throw new Error('no record');
  const counts: Counts = {};
  for (const key of ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheCreationTokens', 'reasoningTokens'] as const) {
    if (record[key] !== undefined) counts[key] = record[key];
  }
  return { record, counts };
}

const SHAPES: [string, unknown, Counts][] = [
  ['OpenAI chat, cached and reasoning details', {
    usage: { prompt_tokens: 1000, completion_tokens: 300, total_tokens: 1300, prompt_tokens_details: { cached_tokens: 600 }, completion_tokens_details: { reasoning_tokens: 200 } },
  }, { inputTokens: 1000, outputTokens: 300, cacheReadTokens: 600, reasoningTokens: 200 }],
  ['OpenAI responses', {
    object: 'response', usage: { input_tokens: 50, output_tokens: 20, input_tokens_details: { cached_tokens: 10 }, output_tokens_details: { reasoning_tokens: 5 } },
  }, { inputTokens: 50, outputTokens: 20, cacheReadTokens: 10, reasoningTokens: 5 }],
  ['Anthropic (input without the cache)', {
    type: 'message', usage: { input_tokens: 100, output_tokens: 40, cache_read_input_tokens: 300, cache_creation_input_tokens: 200 },
  }, { inputTokens: 600, outputTokens: 40, cacheReadTokens: 300, cacheCreationTokens: 200 }],
  ['Anthropic in camelCase (Bedrock Converse)', {
    usage: { inputTokens: 100, outputTokens: 40, totalTokens: 640, cacheReadInputTokens: 300, cacheWriteInputTokens: 200 },
  }, { inputTokens: 600, outputTokens: 40, cacheReadTokens: 300, cacheCreationTokens: 200 }],
  ['Gemini usageMetadata (thoughts are output, not in candidates)', {
    candidates: [{ content: { parts: [{ text: 'hi' }] }, finishReason: 'STOP' }],
    usageMetadata: { promptTokenCount: 900, candidatesTokenCount: 100, cachedContentTokenCount: 400, thoughtsTokenCount: 50, totalTokenCount: 1050 },
  }, { inputTokens: 900, outputTokens: 150, cacheReadTokens: 400, reasoningTokens: 50 }],
  ['Gemini in snake_case', {
    usage_metadata: { prompt_token_count: 9, candidates_token_count: 3 },
  }, { inputTokens: 9, outputTokens: 3 }],
  ['AI SDK 5 (cachedInputTokens, reasoningTokens)', {
    text: 'hi', finishReason: 'stop', usage: { inputTokens: 80, outputTokens: 30, totalTokens: 110, cachedInputTokens: 20, reasoningTokens: 10 },
  }, { inputTokens: 80, outputTokens: 30, cacheReadTokens: 20, reasoningTokens: 10 }],
  ['AI SDK 6+ (token details; totalUsage over the steps wins)', {
    text: 'hi', finishReason: 'stop',
    usage: { inputTokens: 5, outputTokens: 5 },
    totalUsage: { inputTokens: 80, inputTokenDetails: { noCacheTokens: 50, cacheReadTokens: 20, cacheWriteTokens: 10 }, outputTokens: 30, outputTokenDetails: { textTokens: 20, reasoningTokens: 10 } },
  }, { inputTokens: 80, outputTokens: 30, cacheReadTokens: 20, cacheCreationTokens: 10, reasoningTokens: 10 }],
  ['AI SDK provider usage ({ total, cacheRead, reasoning })', {
    usage: { inputTokens: { total: 80, noCache: 60, cacheRead: 20, cacheWrite: undefined }, outputTokens: { total: 30, text: 20, reasoning: 10 } },
  }, { inputTokens: 80, outputTokens: 30, cacheReadTokens: 20, reasoningTokens: 10 }],
  ['promptTokens / completionTokens (AI SDK 4, LangChain)', {
    usage: { promptTokens: 7, completionTokens: 2, totalTokens: 9 },
  }, { inputTokens: 7, outputTokens: 2 }],
];

describe.each(SHAPES)('usage: %s', (_name, result, expected) => {
  test('read into the record and onto the span', async () => {
    const { counts } = await traced(result);
    expect(counts).toEqual(expected);
    const a = llmSpans()[0]?.attributes ?? {};
    expect(a['gen_ai.usage.input_tokens']).toBe(expected.inputTokens);
    expect(a['gen_ai.usage.output_tokens']).toBe(expected.outputTokens);
    expect(a['gen_ai.usage.cache_read.input_tokens']).toBe(expected.cacheReadTokens);
    expect(a['gen_ai.usage.reasoning.output_tokens']).toBe(expected.reasoningTokens);
  });
});

describe('usage prices', () => {
  test('cached input at the table cache rate (gpt-4o-mini, OpenAI shape and AI SDK shape alike)', async () => {
    const expected = usd('gpt-4o-mini', 'openai', { input_tokens: 1000, output_tokens: 300, cache_read_tokens: 600 });
    const { record } = await traced(SHAPES[0]?.[1]);
    expect(record.costUsd).toBeCloseTo(expected, 12);
    records.length = 0;
    const camel = await traced({ usage: { inputTokens: 1000, outputTokens: 300, cachedInputTokens: 600 } });
    expect(camel.record.costUsd).toBeCloseTo(expected, 12);
    // Cheaper than the same tokens uncached.
    expect(expected).toBeLessThan(usd('gpt-4o-mini', 'openai', { input_tokens: 1000, output_tokens: 300 }));
  });

  test('Gemini: cached input at the cache rate, thoughts billed as output', async () => {
    const { record } = await traced(SHAPES[4]?.[1], 'gemini-2.5-flash', 'gcp.gemini');
    expect(record.costUsd).toBeCloseTo(usd('gemini-2.5-flash', 'google', { input_tokens: 900, output_tokens: 150, cache_read_tokens: 400 }), 12);
  });

  test('reasoning tokens at their own rate where the price has one (llm.prices reasoningPerMTok)', async () => {
    const { record } = await traced({ usage: { prompt_tokens: 1000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 600 }, completion_tokens_details: { reasoning_tokens: 200 } } }, 'my-reasoner', 'custom');
    // 400 uncached × $1 + 600 cached × $0.5 + 100 text × $2 + 200 reasoning × $10, per million.
    expect(record.costUsd).toBeCloseTo((400 * 1 + 600 * 0.5 + 100 * 2 + 200 * 10) / 1e6, 12);
  });

  test('llm.prices reasoningPerMTok is validated', () => {
    expect(() => new Llmscope({ ...scopeOptions, llm: { prices: { m: { inputPerMTok: 1, outputPerMTok: 1, reasoningPerMTok: -1 } } } })).toThrow(/reasoningPerMTok/);
  });
});
