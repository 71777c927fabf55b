import { boolean, buckets, entry, field, invalid, nonNegativeNumber, object, positiveInt, record, required, section } from '../config/validate';
import { GEN_AI_DURATION_BUCKETS } from './buckets';

/**
 * Price of a model the maintained price table does not know (a fine-tuned, custom or self-hosted
 * model), in US dollars per million tokens.
 */
export interface ModelPrice {
  /** USD per million input tokens (uncached). */
  inputPerMTok: number;
  /** USD per million output tokens. */
  outputPerMTok: number;
  /** USD per million input tokens read from the provider's cache. Default: `inputPerMTok`. */
  cacheReadPerMTok?: number;
  /** USD per million input tokens written to the provider's cache. Default: `inputPerMTok`. */
  cacheWritePerMTok?: number;
  /** USD per million reasoning output tokens (part of the output). Default: `outputPerMTok`. */
  reasoningPerMTok?: number;
  /** Context window in tokens, for `llmscope_llm_context_window_utilization_ratio`. */
  contextWindow?: number;
}

/** Bounds of the in-memory cost attribution (top-N keys per dimension, the rest in "other"). */
export interface CostAttributionOptions {
  /** Users tracked individually. Default 1000. */
  maxUsers?: number;
  /** Sessions tracked individually. Default 1000. */
  maxSessions?: number;
  /** Features tracked individually. Default 200. */
  maxFeatures?: number;
  /** Prompt versions (`name@version`) tracked individually. Default 200. */
  maxPromptVersions?: number;
}

/** Options of the LLM side of llmscope (`llm` in the adapters' options). */
export interface LlmOptions {
  /**
   * Prices of models the price table lacks, or that you pay a different price for. The key is a
   * model id (`my-finetune`) or `provider:model` (`vllm:llama-3.1-8b`); it is matched against
   * `gen_ai.request.model` / `gen_ai.response.model` exactly, before the price table.
   */
  prices?: Record<string, ModelPrice>;
  /** Put prompts and completions on LLM spans (`gen_ai.input.messages` / `gen_ai.output.messages`). Default `false`. */
  captureContent?: boolean;
  /** Longest text part kept when `captureContent` is on; longer ones are clipped. Default 2000. */
  maxContentLength?: number;
  /** Most distinct `model` label values; further models share the label `other`. Default 200. */
  maxModels?: number;
  /** Cost attribution bounds, or `false` to keep none. */
  attribution?: CostAttributionOptions | false;
  /** Buckets (seconds) of `gen_ai_client_operation_time_to_first_chunk_seconds`. Default: the GenAI semconv client buckets. */
  timeToFirstChunkBuckets?: number[];
  /**
   * A streamed answer that yields no chunk for this long is considered abandoned: its span ends,
   * marked `llmscope.stream.abandoned`. Default 600000 (10 minutes).
   */
  streamIdleTimeoutMs?: number;
}

/** {@link LlmOptions} after defaults and validation. */
export interface ResolvedLlmOptions {
  prices: Map<string, Required<Pick<ModelPrice, 'inputPerMTok' | 'outputPerMTok' | 'cacheReadPerMTok' | 'cacheWritePerMTok'>> & { reasoningPerMTok: number | undefined; contextWindow: number | undefined }>;
  captureContent: boolean;
  maxContentLength: number;
  maxModels: number;
  attribution: Required<CostAttributionOptions> | undefined;
  timeToFirstChunkBuckets: number[];
  streamIdleTimeoutMs: number;
}

const LLM_KEYS = ['prices', 'captureContent', 'maxContentLength', 'maxModels', 'attribution', 'timeToFirstChunkBuckets', 'streamIdleTimeoutMs'] as const;
const PRICE_KEYS = ['inputPerMTok', 'outputPerMTok', 'cacheReadPerMTok', 'cacheWritePerMTok', 'reasoningPerMTok', 'contextWindow'] as const;
const ATTRIBUTION_KEYS = ['maxUsers', 'maxSessions', 'maxFeatures', 'maxPromptVersions'] as const;
const RATE = 'a price in USD per million tokens, a finite number >= 0 such as 0.5';

function requiredRate(at: string, value: unknown): number {
  return nonNegativeNumber(at, value, RATE) ?? required(at, RATE);
}

function resolvePrices(value: unknown): ResolvedLlmOptions['prices'] {
  const out: ResolvedLlmOptions['prices'] = new Map();
  const prices = record('llm.prices', value, 'an object keyed by model id or "provider:model"') ?? {};
  for (const [model, price] of Object.entries(prices)) {
    const at = entry('llm.prices', model);
    if (model.trim().length === 0) invalid('llm.prices', 'keyed by non-empty model ids as sent in `model`, such as "my-finetune"', model);
    const p = object(at, price, PRICE_KEYS, 'an object such as { inputPerMTok: 0.5, outputPerMTok: 1.5 }') ?? invalid(at, 'an object such as { inputPerMTok: 0.5, outputPerMTok: 1.5 }', price);
    const input = requiredRate(field(at, 'inputPerMTok'), p.inputPerMTok);
    const output = requiredRate(field(at, 'outputPerMTok'), p.outputPerMTok);
    out.set(model, {
      inputPerMTok: input,
      outputPerMTok: output,
      cacheReadPerMTok: nonNegativeNumber(field(at, 'cacheReadPerMTok'), p.cacheReadPerMTok, RATE) ?? input,
      cacheWritePerMTok: nonNegativeNumber(field(at, 'cacheWritePerMTok'), p.cacheWritePerMTok, RATE) ?? input,
      // Unset: the output rate (reasoning is output).
      reasoningPerMTok: nonNegativeNumber(field(at, 'reasoningPerMTok'), p.reasoningPerMTok, RATE),
      contextWindow: positiveInt(field(at, 'contextWindow'), p.contextWindow),
    });
  }
  return out;
}

function resolveAttribution(value: unknown): ResolvedLlmOptions['attribution'] {
  const a = section('llm.attribution', value, ATTRIBUTION_KEYS);
  if (a === undefined) return undefined;
  return {
    maxUsers: positiveInt('llm.attribution.maxUsers', a.maxUsers) ?? 1000,
    maxSessions: positiveInt('llm.attribution.maxSessions', a.maxSessions) ?? 1000,
    maxFeatures: positiveInt('llm.attribution.maxFeatures', a.maxFeatures) ?? 200,
    maxPromptVersions: positiveInt('llm.attribution.maxPromptVersions', a.maxPromptVersions) ?? 200,
  };
}

/** Validates the `llm` option. Throws {@link LlmscopeConfigError} with a message that says what to change. */
export function resolveLlmOptions(value: unknown): ResolvedLlmOptions {
  const o = object('llm', value, LLM_KEYS) ?? {};
  return {
    prices: resolvePrices(o.prices),
    captureContent: boolean('llm.captureContent', o.captureContent) ?? false,
    maxContentLength: positiveInt('llm.maxContentLength', o.maxContentLength) ?? 2000,
    maxModels: positiveInt('llm.maxModels', o.maxModels) ?? 200,
    attribution: resolveAttribution(o.attribution),
    timeToFirstChunkBuckets: buckets('llm.timeToFirstChunkBuckets', o.timeToFirstChunkBuckets) ?? GEN_AI_DURATION_BUCKETS,
    streamIdleTimeoutMs: positiveInt('llm.streamIdleTimeoutMs', o.streamIdleTimeoutMs) ?? 600_000,
  };
}
