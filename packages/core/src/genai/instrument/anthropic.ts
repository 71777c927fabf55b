import { countAttempts, get, modelParam, numberParam, wrapMethod, type Obj } from './common';

/** Options of {@link instrumentAnthropic}. */
export interface InstrumentAnthropicOptions {
  /** `gen_ai.provider.name` of the calls. Default `anthropic` (e.g. `aws.bedrock` for the Bedrock client). */
  provider?: string;
}

/**
 * Instruments an official `@anthropic-ai/sdk` client in place and returns it: every
 * `messages.create` (and so `messages.stream()`, built on it) becomes an LLM call (span, metrics,
 * cost, prompt-cache tokens priced at their rates) as with `traceLLM`, streaming included (time to
 * first chunk; usage from `message_start` and `message_delta`), with SDK retries counted and
 * errors typed. The SDK's own OpenTelemetry span, when it emits one, becomes a child of the
 * llmscope span and is not counted twice in the metrics.
 *
 * @example
 * const anthropic = instrumentAnthropic(new Anthropic());
 */
export function instrumentAnthropic<T extends object>(client: T, options: InstrumentAnthropicOptions = {}): T {
  const c = client as unknown as Obj;
  const provider = options.provider ?? 'anthropic';
  countAttempts(c);
  const describe = (p: Obj) => ({
    model: modelParam(p),
    provider,
    operation: 'chat' as const,
    temperature: numberParam(p.temperature),
    maxTokens: numberParam(p.max_tokens),
    topP: numberParam(p.top_p),
    input: p.messages,
    system: p.system,
  });
  wrapMethod(get(c, 'messages'), 'create', describe);
  wrapMethod(get(get(c, 'beta'), 'messages'), 'create', describe);
  return client;
}
