/** Token usage of one LLM call. */
export interface LlmUsage {
  inputTokens?: number;
  outputTokens?: number;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Reads token usage and response model from an OpenAI-shaped (chat completions:
 * `usage.prompt_tokens/completion_tokens`; responses and embeddings: `usage.input_tokens/
 * output_tokens`) or Anthropic-shaped (`usage.input_tokens/output_tokens`) result.
 * Returns `undefined` for anything else; never throws.
 */
export function readResult(result: unknown): { usage?: LlmUsage; model?: string; id?: string } | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const r = result as { usage?: Record<string, unknown>; model?: unknown; id?: unknown };
  const out: { usage?: LlmUsage; model?: string; id?: string } = {};
  const u = r.usage;
  if (u !== null && typeof u === 'object') {
    const input = count(u.input_tokens) ?? count(u.prompt_tokens);
    const output = count(u.output_tokens) ?? count(u.completion_tokens);
    if (input !== undefined || output !== undefined) out.usage = { inputTokens: input, outputTokens: output };
  }
  if (typeof r.model === 'string') out.model = r.model;
  if (typeof r.id === 'string') out.id = r.id;
  return out;
}
