/**
 * Token usage of one LLM call. As in the GenAI semantic conventions, `inputTokens` counts every
 * input token, cached ones included, and `outputTokens` every output token, reasoning included;
 * the cache and reasoning counts are parts of them, not additions.
 */
export interface LlmUsage {
  inputTokens?: number;
  outputTokens?: number;
  /** Input tokens served from the provider's prompt cache (`gen_ai.usage.cache_read.input_tokens`). */
  cacheReadTokens?: number;
  /** Input tokens written to the provider's prompt cache (`gen_ai.usage.cache_creation.input_tokens`). */
  cacheCreationTokens?: number;
  /** Output tokens spent reasoning (`gen_ai.usage.reasoning.output_tokens`), part of `outputTokens`. */
  reasoningTokens?: number;
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

/**
 * A token count, or undefined for anything that is not one. Past 2^53 a number is no count (an
 * SDK bug or a hostile result): two such values (1e308) would turn the tokens counter to +Inf
 * for the life of the process.
 */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

/** A count given as a number, or as the AI SDK 6+ provider shape `{ total }`. */
function total(value: unknown): number | undefined {
  return count(value) ?? count(obj(value)?.total);
}

function build(input: number | undefined, output: number | undefined, cacheRead: number | undefined, cacheCreation: number | undefined, reasoning: number | undefined): LlmUsage | undefined {
  if (input === undefined && output === undefined) return undefined;
  const usage: LlmUsage = { inputTokens: input, outputTokens: output };
  if (cacheRead !== undefined && cacheRead > 0) usage.cacheReadTokens = cacheRead;
  if (cacheCreation !== undefined && cacheCreation > 0) usage.cacheCreationTokens = cacheCreation;
  if (reasoning !== undefined && reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

/**
 * Gemini's `usageMetadata` (camelCase over REST and in `@google/genai`, snake_case in Python
 * dumps): `promptTokenCount` includes the cached part and the tool-use prompt does not, and
 * `thoughtsTokenCount` is not part of `candidatesTokenCount` (both are billed as output).
 */
function geminiUsage(u: Obj): LlmUsage | undefined {
  const prompt = count(u.promptTokenCount) ?? count(u.prompt_token_count);
  const toolPrompt = count(u.toolUsePromptTokenCount) ?? count(u.tool_use_prompt_token_count);
  const candidates = count(u.candidatesTokenCount) ?? count(u.candidates_token_count);
  const thoughts = count(u.thoughtsTokenCount) ?? count(u.thoughts_token_count);
  const cached = count(u.cachedContentTokenCount) ?? count(u.cached_content_token_count);
  const input = prompt === undefined && toolPrompt === undefined ? undefined : (prompt ?? 0) + (toolPrompt ?? 0);
  // A stream's first chunks carry the prompt count only: the output is not known yet.
  const output = candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0);
  return build(input, output, cached, undefined, thoughts);
}

/**
 * Reads a usage object in any of the common shapes, snake_case or camelCase:
 * - OpenAI chat (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`,
 *   `completion_tokens_details.reasoning_tokens`), responses and embeddings (`input_tokens`,
 *   `output_tokens`, `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`);
 * - Anthropic (`input_tokens` without the cache, `cache_read_input_tokens`,
 *   `cache_creation_input_tokens`: summed into `inputTokens`), and its camelCase spelling (Bedrock
 *   Converse: `cacheReadInputTokens`, `cacheWriteInputTokens`);
 * - Gemini `usageMetadata` (`promptTokenCount`, `candidatesTokenCount`, `cachedContentTokenCount`,
 *   `thoughtsTokenCount`);
 * - the Vercel AI SDK (`inputTokens`, `outputTokens`, `cachedInputTokens`, `reasoningTokens`; v6+
 *   `inputTokenDetails.cacheReadTokens` / `cacheWriteTokens`, `outputTokenDetails.reasoningTokens`,
 *   and the provider-level `{ total, cacheRead, cacheWrite, reasoning }` objects), and
 *   `promptTokens` / `completionTokens` (AI SDK 4, LangChain).
 *
 * Never throws; undefined when neither an input nor an output count is found.
 */
export function readUsage(value: unknown): LlmUsage | undefined {
  const u = obj(value);
  if (u === undefined) return undefined;
  if (u.promptTokenCount !== undefined || u.candidatesTokenCount !== undefined || u.prompt_token_count !== undefined || u.candidates_token_count !== undefined) {
    return geminiUsage(u);
  }
  if (u.input_tokens !== undefined || u.prompt_tokens !== undefined || u.output_tokens !== undefined || u.completion_tokens !== undefined) {
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
    const reasoning = count(obj(u.completion_tokens_details)?.reasoning_tokens) ?? count(obj(u.output_tokens_details)?.reasoning_tokens);
    return build(input, output, cacheRead, cacheCreation, reasoning);
  }
  // `tokens`: an AI SDK embedding model's usage.
  let input = total(u.inputTokens) ?? count(u.promptTokens) ?? count(u.tokens);
  const output = total(u.outputTokens) ?? count(u.completionTokens);
  const cacheReadUncounted = count(u.cacheReadInputTokens);
  const cacheWriteUncounted = count(u.cacheWriteInputTokens) ?? count(u.cacheCreationInputTokens);
  if (cacheReadUncounted !== undefined || cacheWriteUncounted !== undefined) {
    // Anthropic's fields in camelCase (Bedrock Converse): input excludes the cache, as in snake_case.
    if (input !== undefined) input += (cacheReadUncounted ?? 0) + (cacheWriteUncounted ?? 0);
    return build(input, output, cacheReadUncounted, cacheWriteUncounted, count(u.reasoningTokens));
  }
  const inDetails = obj(u.inputTokenDetails);
  const outDetails = obj(u.outputTokenDetails);
  const inObj = obj(u.inputTokens);
  const outObj = obj(u.outputTokens);
  const cacheRead = count(inDetails?.cacheReadTokens) ?? count(inObj?.cacheRead) ?? count(u.cachedInputTokens);
  const cacheWrite = count(inDetails?.cacheWriteTokens) ?? count(inObj?.cacheWrite);
  const reasoning = count(outDetails?.reasoningTokens) ?? count(outObj?.reasoning) ?? count(u.reasoningTokens);
  return build(input, output, cacheRead, cacheWrite, reasoning);
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

/** Text of a Gemini candidate's parts (thoughts left out). */
export function geminiText(candidate: Obj | undefined): string | undefined {
  const parts = obj(candidate?.content)?.parts;
  if (!Array.isArray(parts)) return undefined;
  let text = '';
  for (const part of parts) {
    const p = obj(part);
    if (typeof p?.text === 'string' && p.thought !== true) text += p.text;
  }
  return text;
}

/** Gemini `GenerateContentResponse` (and stream chunks) and `EmbedContentResponse`. */
function readGemini(r: Obj, out: LlmResultInfo): void {
  if (typeof r.modelVersion === 'string') out.model = r.modelVersion;
  if (typeof r.responseId === 'string') out.id = r.responseId;
  if (Array.isArray(r.candidates)) {
    const reasons: string[] = [];
    for (const c of r.candidates) {
      const reason = obj(c)?.finishReason;
      if (typeof reason === 'string') reasons.push(reason);
    }
    if (reasons.length > 0) out.finishReasons = reasons;
    const text = geminiText(obj(r.candidates[0]));
    if (text !== undefined) out.text = text;
  } else if (Array.isArray(r.embeddings)) {
    const values = obj(r.embeddings[0])?.values;
    if (Array.isArray(values)) out.embeddingDimensions = values.length;
  }
}

/**
 * Reads usage, model, id, finish reasons and text from an OpenAI-shaped (chat completion,
 * response, embeddings), Anthropic-shaped (message), Gemini-shaped (`GenerateContentResponse`,
 * `EmbedContentResponse`) or Vercel AI SDK (`generateText`, `generateObject`, `embed`,
 * `embedMany` results) result. Returns `undefined` for anything else; never throws.
 */
export function readResult(result: unknown): LlmResultInfo | undefined {
  // The result is the app's value: a getter or proxy trap of it that throws (a lazily parsed
  // field, a validation proxy) must not turn the app's successful call into a rejection.
  try {
    return readResultOf(result);
  } catch {
    return undefined;
  }
}

function readResultOf(result: unknown): LlmResultInfo | undefined {
  const r = obj(result);
  if (r === undefined) return undefined;
  const out: LlmResultInfo = {};
  // The AI SDK's `totalUsage` sums a multi-step call's steps; `usage` is its last step only.
  const usage = readUsage(r.totalUsage ?? r.usage ?? r.usageMetadata ?? r.usage_metadata);
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
  } else if (r.candidates !== undefined || r.usageMetadata !== undefined || r.usage_metadata !== undefined || (Array.isArray(r.embeddings) && Array.isArray(obj(r.embeddings[0])?.values))) {
    readGemini(r, out);
  } else {
    // The AI SDK: finishReason, text, response.{modelId,id}; embed's `embedding`, embedMany's
    // `embeddings`; a provider's result (what middleware sees): `content` parts, finishReason `{ unified }`.
    if (typeof r.finishReason === 'string') out.finishReasons = [r.finishReason];
    else if (typeof obj(r.finishReason)?.unified === 'string') out.finishReasons = [obj(r.finishReason)?.unified as string];
    if (typeof r.text === 'string') out.text = r.text;
    else if (Array.isArray(r.content)) {
      let text = '';
      for (const part of r.content) {
        const p = obj(part);
        if (p?.type === 'text' && typeof p.text === 'string') text += p.text;
      }
      out.text = text;
    }
    const response = obj(r.response);
    if (typeof response?.modelId === 'string') out.model = response.modelId;
    if (typeof response?.id === 'string') out.id = response.id;
    const vector = Array.isArray(r.embedding) ? r.embedding : Array.isArray(r.embeddings) ? r.embeddings[0] : undefined;
    if (Array.isArray(vector)) out.embeddingDimensions = vector.length;
  }
  return out;
}

/** A rough output token count from text, when the provider reports none: ~4 characters a token. */
export function estimateTokens(characters: number): number {
  return characters <= 0 ? 0 : Math.ceil(characters / 4);
}
