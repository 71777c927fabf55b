import { currentLlmCall, startLlmCall, type LlmCall, type LlmCallOptions } from './call';
import { isAsyncIterable, observeStream } from './stream';
import { readResult } from './usage';
import { runInSpan } from '../tracing/span-run';
import { admitLlmCall } from '../budgets/admit';

export type { GenAiOperation, LlmCall, LlmCallOptions } from './call';

/**
 * Traces one LLM call: a CLIENT span named `{operation} {model}` with GenAI semantic-convention
 * attributes, child of the current span, plus the LLM metrics, the cost (from the price table)
 * and the cost attribution. Metrics are recorded for every call, whether or not the span is
 * sampled and even with tracing off.
 *
 * Token usage, response model, id and finish reasons are read from an OpenAI- or
 * Anthropic-shaped result, or reported through the {@link LlmCall} handle. When the result is
 * an async iterable (a streamed answer), the span stays open until the stream ends, is left
 * early or is abandoned; the time to the first chunk is measured, usage is read from the chunks
 * (the final usage chunk), and output tokens are estimated when the provider sends none
 * (`llmscope.usage.estimated`). The result or error of `fn` passes through unchanged.
 *
 * With `budgets` that enforce, an exhausted budget is checked before `fn` runs: it throws
 * `BudgetExceededError` (a 429) without calling `fn`, or hands `fn` a cheaper model as
 * `call.model` (pass it to the provider).
 *
 * @example
 * const reply = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, () =>
 *   openai.chat.completions.create({ model: 'gpt-4o-mini', messages }));
 */
export function traceLLM<T>(options: LlmCallOptions, fn: (call: LlmCall) => T): T {
  const call = startLlmCall(admitLlmCall(options));
  return runInSpan(call.span, () => currentLlmCall.run(call, fn, call), (error, value, failed) => {
    if (failed) {
      call.end(error, true);
      return;
    }
    if (options.stream !== false && isAsyncIterable(value) && observeStream(value, call, call.runtime?.options.streamIdleTimeoutMs)) return;
    call.applyResult(readResult(value));
    call.end(undefined, false);
  });
}
