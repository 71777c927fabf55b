import { countAttempts, get, modelParam, numberParam, wrapMethod, type Obj } from './common';

/** Options of {@link instrumentOpenAI}. */
export interface InstrumentOpenAIOptions {
  /**
   * `gen_ai.provider.name` of the calls. Default `openai`; set it when the client points at an
   * OpenAI-compatible server (`azure.ai.openai`, `groq`, or your own name for vLLM / Ollama).
   */
  provider?: string;
  /**
   * Ask for the final usage chunk of streamed chat completions (`stream_options.include_usage`)
   * when the app did not. The app then sees one more chunk, with an empty `choices` array: turn
   * this on only if your stream handling tolerates it. Default `false` (output tokens are then
   * estimated, and the span says so).
   */
  includeStreamUsage?: boolean;
}

/**
 * Instruments an official `openai` client (openai 6 and 7) in place and returns it, typed as
 * given: every `chat.completions.create`, `responses.create`, `embeddings.create` and
 * `completions.create` becomes an LLM call (span, metrics, cost) as with `traceLLM`, streaming
 * included (time to first chunk, usage from the final chunk), with SDK retries counted and errors
 * typed (`RateLimitError`, `AuthenticationError`, `InternalServerError`,
 * `APIConnectionTimeoutError`, ...). The helpers built on `create` (`chat.completions.stream()`,
 * `chat.completions.parse()`, `runTools()`, `responses.stream()`, `responses.parse()`) are covered
 * through it. Calling it twice is harmless.
 *
 * @example
 * const openai = instrumentOpenAI(new OpenAI());
 */
export function instrumentOpenAI<T extends object>(client: T, options: InstrumentOpenAIOptions = {}): T {
  const c = client as unknown as Obj;
  const provider = options.provider ?? 'openai';
  countAttempts(c);
  wrapMethod(get(get(c, 'chat'), 'completions'), 'create', (p) => ({
    model: modelParam(p),
    provider,
    operation: 'chat',
    temperature: numberParam(p.temperature),
    maxTokens: numberParam(p.max_completion_tokens) ?? numberParam(p.max_tokens),
    topP: numberParam(p.top_p),
    input: p.messages,
  }), options.includeStreamUsage ? (p) => (p.stream === true && get(p.stream_options, 'include_usage') !== true
    ? { ...p, stream_options: { ...(p.stream_options as Obj | undefined), include_usage: true } }
    : p) : undefined);
  wrapMethod(get(c, 'responses'), 'create', (p) => ({
    model: modelParam(p),
    provider,
    operation: 'chat',
    temperature: numberParam(p.temperature),
    maxTokens: numberParam(p.max_output_tokens),
    topP: numberParam(p.top_p),
    input: p.input,
    system: p.instructions,
  }));
  wrapMethod(get(c, 'embeddings'), 'create', (p) => ({ model: modelParam(p), provider, operation: 'embeddings', input: p.input }));
  wrapMethod(get(c, 'completions'), 'create', (p) => ({
    model: modelParam(p),
    provider,
    operation: 'text_completion',
    temperature: numberParam(p.temperature),
    maxTokens: numberParam(p.max_tokens),
    topP: numberParam(p.top_p),
    input: p.prompt,
  }));
  return client;
}
