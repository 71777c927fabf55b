import type { LlmCallState } from '../call';
import { foreignGenAiSpans } from '../span-records';
import { countAttempts, get, modelParam, numberParam, wrapMethod, type Obj } from './common';

/**
 * `messages.stream()` (and the beta one) starts the SDK's span before calling `messages.create()`,
 * and hands it over in the request options (`__span`): that span is this call, not another one.
 */
function sameCallAsHelperSpan(args: unknown[], call: LlmCallState): void {
  const span = get(get(args[1], '__span'), 'span');
  if (span !== null && typeof span === 'object') foreignGenAiSpans.sameCall(span, call.operation);
}

/** Options of {@link instrumentAnthropic}. */
export interface InstrumentAnthropicOptions {
  /** `gen_ai.provider.name` of the calls. Default `anthropic` (e.g. `aws.bedrock` for the Bedrock client). */
  provider?: string;
}

/**
 * Instruments an official `@anthropic-ai/sdk` client in place and returns it: every
 * `messages.create` and `beta.messages.create` (and so what is built on them: `messages.stream()`,
 * `messages.parse()`, the beta `stream()`, `toolRunner()` and threads) becomes an LLM call (span,
 * metrics, cost, prompt-cache tokens priced at their rates) as with `traceLLM`, streaming included
 * (time to first chunk; usage from `message_start` and `message_delta`), with SDK retries counted
 * and errors typed. The SDK's own OpenTelemetry span, when it emits one, is not counted twice in
 * the metrics: it is a child of the llmscope span, or its sibling under the stream helpers (which
 * start it before calling `create`).
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
  wrapMethod(get(c, 'messages'), 'create', describe, undefined, sameCallAsHelperSpan);
  wrapMethod(get(get(c, 'beta'), 'messages'), 'create', describe, undefined, sameCallAsHelperSpan);
  return client;
}
