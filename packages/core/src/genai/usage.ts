/**
 * Token usage of one LLM call. As in the GenAI semantic conventions, `inputTokens` counts every
 * input token, cached ones included; the cache counts are parts of it, not additions.
 */
export interface LlmUsage {
  inputTokens?: number;
  outputTokens?: number;
  /** Input tokens served from the provider's prompt cache (`gen_ai.usage.cache_read.input_tokens`). */
  cacheReadTokens?: number;
  /** Input tokens written to the provider's prompt cache (`gen_ai.usage.cache_creation.input_tokens`). */
  cacheCreationTokens?: number;
}

/** What a provider's answer says about the call. */
export interface LlmResultInfo {
  usage?: LlmUsage;
  model?: string;
  id?: string;
  finishReasons?: string[];
  /** Text of the answer (first choice), for content capture and token estimation. */
  text?: string;
  /** Length of each embedding vector, for an embeddings answer. */
  embeddingDimensions?: number;
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' ? (value as Obj) : undefined;
}

/** A token count, or undefined for anything that is not one. */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Reads a provider `usage` object: OpenAI chat (`prompt_tokens`, `completion_tokens`,
 * `prompt_tokens_details.cached_tokens`), OpenAI responses and embeddings (`input_tokens`,
 * `output_tokens`, `input_tokens_details.cached_tokens`), Anthropic (`input_tokens` without the
 * cache, `cache_read_input_tokens`, `cache_creation_input_tokens`: summed into `inputTokens`).
 */
export function readUsage(value: unknown): LlmUsage | undefined {
  const u = obj(value);
  if (u === undefined) return undefined;
  let input = count(u.input_tokens) ?? count(u.prompt_tokens);
  const output = count(u.output_tokens) ?? count(u.completion_tokens);
  let cacheRead = count(u.cache_read_input_tokens);
  const cacheCreation = count(u.cache_creation_input_tokens);
  if (cacheRead !== undefined || cacheCreation !== undefined) {
    // Anthropic reports uncached input only; the conventions want the total.
    if (input !== undefined) input += (cacheRead ?? 0) + (cacheCreation ?? 0);
  } else {
    cacheRead = count(obj(u.prompt_tokens_details)?.cached_tokens) ?? count(obj(u.input_tokens_details)?.cached_tokens);
  }
  if (input === undefined && output === undefined) return undefined;
  const usage: LlmUsage = { inputTokens: input, outputTokens: output };
  if (cacheRead !== undefined && cacheRead > 0) usage.cacheReadTokens = cacheRead;
  if (cacheCreation !== undefined && cacheCreation > 0) usage.cacheCreationTokens = cacheCreation;
  return usage;
}

function anthropicText(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const block of content) {
    const b = obj(block);
    if (b?.type === 'text' && typeof b.text === 'string') text += b.text;
  }
  return text;
}

/**
 * Reads usage, model, id, finish reasons and text from an OpenAI-shaped (chat completion,
 * response, embeddings) or Anthropic-shaped (message) result. Returns `undefined` for anything
 * else; never throws.
 */
export function readResult(result: unknown): LlmResultInfo | undefined {
  const r = obj(result);
  if (r === undefined) return undefined;
  const out: LlmResultInfo = {};
  const usage = readUsage(r.usage);
  if (usage !== undefined) out.usage = usage;
  if (typeof r.model === 'string') out.model = r.model;
  if (typeof r.id === 'string') out.id = r.id;
  if (Array.isArray(r.choices)) {
    const reasons: string[] = [];
    for (const c of r.choices) {
      const reason = obj(c)?.finish_reason;
      if (typeof reason === 'string') reasons.push(reason);
    }
    if (reasons.length > 0) out.finishReasons = reasons;
    const first = obj(obj(r.choices[0])?.message)?.content;
    if (typeof first === 'string') out.text = first;
    else if (typeof obj(r.choices[0])?.text === 'string') out.text = obj(r.choices[0])?.text as string;
  } else if (r.type === 'message') {
    if (typeof r.stop_reason === 'string') out.finishReasons = [r.stop_reason];
    const text = anthropicText(r.content);
    if (text !== undefined) out.text = text;
  } else if (r.object === 'response') {
    if (r.status === 'completed') out.finishReasons = ['stop'];
    else if (typeof obj(r.incomplete_details)?.reason === 'string') out.finishReasons = [obj(r.incomplete_details)?.reason as string];
    if (typeof r.output_text === 'string') out.text = r.output_text;
  } else if (r.object === 'list' && Array.isArray(r.data)) {
    const embedding = obj(r.data[0])?.embedding;
    if (Array.isArray(embedding)) out.embeddingDimensions = embedding.length;
  }
  return out;
}

/** A rough output token count from text, when the provider reports none: ~4 characters a token. */
export function estimateTokens(characters: number): number {
  return characters <= 0 ? 0 : Math.ceil(characters / 4);
}
