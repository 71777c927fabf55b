import { LlmscopeConfigError } from '../config/errors';
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
  prices: Map<string, Required<Pick<ModelPrice, 'inputPerMTok' | 'outputPerMTok' | 'cacheReadPerMTok' | 'cacheWritePerMTok'>> & { contextWindow: number | undefined }>;
  captureContent: boolean;
  maxContentLength: number;
  maxModels: number;
  attribution: Required<CostAttributionOptions> | undefined;
  timeToFirstChunkBuckets: number[];
  streamIdleTimeoutMs: number;
}

const LLM_KEYS = ['prices', 'captureContent', 'maxContentLength', 'maxModels', 'attribution', 'timeToFirstChunkBuckets', 'streamIdleTimeoutMs'];
const PRICE_KEYS = ['inputPerMTok', 'outputPerMTok', 'cacheReadPerMTok', 'cacheWritePerMTok', 'contextWindow'];
const ATTRIBUTION_KEYS = ['maxUsers', 'maxSessions', 'maxFeatures', 'maxPromptVersions'];

function fail(message: string): never {
  throw new LlmscopeConfigError(message);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkKeys(where: string, value: Record<string, unknown>, known: string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || k.startsWith(key) || key.startsWith(k));
    fail(`unknown option \`${where}${key}\`.${near ? ` Did you mean \`${where}${near}\`?` : ''} Known options: ${known.join(', ')}.`);
  }
}

function posInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`option \`${name}\` must be a positive integer (got ${show(value)}).`);
  return value;
}

function rate(name: string, value: unknown, required: boolean): number | undefined {
  if (value === undefined) {
    if (required) fail(`option \`${name}\` is required: the price in USD per million tokens, e.g. 0.5.`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(`option \`${name}\` must be a price in USD per million tokens, a finite number >= 0 (got ${show(value)}).`);
  return value;
}

function resolvePrices(value: unknown): ResolvedLlmOptions['prices'] {
  const out: ResolvedLlmOptions['prices'] = new Map();
  if (value === undefined) return out;
  if (!isPlainObject(value)) fail(`option \`llm.prices\` must be an object keyed by model id or "provider:model" (got ${show(value)}).`);
  for (const [model, price] of Object.entries(value)) {
    const where = `llm.prices[${JSON.stringify(model)}]`;
    if (model.trim().length === 0) fail('option `llm.prices` has an empty model id; use the model id as sent in `model`, e.g. "my-finetune".');
    if (!isPlainObject(price)) fail(`option \`${where}\` must be an object such as { inputPerMTok: 0.5, outputPerMTok: 1.5 } (got ${show(price)}).`);
    checkKeys(`${where}.`, price, PRICE_KEYS);
    const input = rate(`${where}.inputPerMTok`, price.inputPerMTok, true) as number;
    const output = rate(`${where}.outputPerMTok`, price.outputPerMTok, true) as number;
    const contextWindow = price.contextWindow === undefined ? undefined : posInt(`${where}.contextWindow`, price.contextWindow, 1);
    out.set(model, {
      inputPerMTok: input,
      outputPerMTok: output,
      cacheReadPerMTok: rate(`${where}.cacheReadPerMTok`, price.cacheReadPerMTok, false) ?? input,
      cacheWritePerMTok: rate(`${where}.cacheWritePerMTok`, price.cacheWritePerMTok, false) ?? input,
      contextWindow,
    });
  }
  return out;
}

function resolveAttribution(value: unknown): ResolvedLlmOptions['attribution'] {
  if (value === false) return undefined;
  if (value === undefined) value = {};
  if (!isPlainObject(value)) fail(`option \`llm.attribution\` must be an object or false (got ${show(value)}).`);
  checkKeys('llm.attribution.', value, ATTRIBUTION_KEYS);
  return {
    maxUsers: posInt('llm.attribution.maxUsers', value.maxUsers, 1000),
    maxSessions: posInt('llm.attribution.maxSessions', value.maxSessions, 1000),
    maxFeatures: posInt('llm.attribution.maxFeatures', value.maxFeatures, 200),
    maxPromptVersions: posInt('llm.attribution.maxPromptVersions', value.maxPromptVersions, 200),
  };
}

/** Validates the `llm` option. Throws {@link LlmscopeConfigError} with a message that says what to change. */
export function resolveLlmOptions(value: unknown): ResolvedLlmOptions {
  if (value === undefined) value = {};
  if (!isPlainObject(value)) fail(`option \`llm\` must be an object (got ${show(value)}).`);
  checkKeys('llm.', value, LLM_KEYS);
  if (value.captureContent !== undefined && typeof value.captureContent !== 'boolean') fail(`option \`llm.captureContent\` must be true or false (got ${show(value.captureContent)}).`);
  let buckets = GEN_AI_DURATION_BUCKETS;
  const b = value.timeToFirstChunkBuckets;
  if (b !== undefined) {
    const ok = Array.isArray(b) && b.length > 0 && b.every((x: unknown, i) => typeof x === 'number' && x > 0 && Number.isFinite(x) && (i === 0 || x > (b[i - 1] as number)));
    if (!ok) fail('option `llm.timeToFirstChunkBuckets` must be a non-empty array of positive numbers in increasing order (seconds).');
    buckets = b as number[];
  }
  return {
    prices: resolvePrices(value.prices),
    captureContent: value.captureContent === true,
    maxContentLength: posInt('llm.maxContentLength', value.maxContentLength, 2000),
    maxModels: posInt('llm.maxModels', value.maxModels, 200),
    attribution: resolveAttribution(value.attribution),
    timeToFirstChunkBuckets: buckets,
    streamIdleTimeoutMs: posInt('llm.streamIdleTimeoutMs', value.streamIdleTimeoutMs, 600_000),
  };
}
