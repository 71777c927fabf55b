import { traceLLM, type LlmCallOptions } from '@llmscope/core';
import { resolveEvaluatorList } from '@llmscope/core/adapter';
import { wrapMethod } from './wrap-method';

/** Options of {@link TraceLLM}: those of core's `traceLLM`, the model optional. */
export interface TraceLLMOptions extends Partial<LlmCallOptions> {
  /**
   * Picks the prompt from the method's arguments (`(args) => args[0]` for a `messages`
   * parameter), for content capture (`llm.captureContent`) and the evaluators that read the
   * question. Without it a decorated call records no prompt messages.
   */
  inputFrom?: (args: unknown[]) => unknown;
}

/** The prompt picked from a call's arguments; a throwing picker records none (never fails the call). */
function pickInput(inputFrom: (args: unknown[]) => unknown, args: unknown[]): unknown {
  try {
    return inputFrom(args);
  } catch {
    return undefined;
  }
}

/**
 * Traces the method as one LLM call (core's `traceLLM`): a GenAI client span named
 * `{operation} {model}` and the LLM metrics. Model and provider come from the options; token
 * usage and response model are read from an OpenAI- or Anthropic-shaped return value. Works on
 * sync and async methods and on methods returning an async iterable (a streamed answer), whose
 * span stays open until the iteration ends.
 *
 * `evaluators` attach evaluators to this method's calls only (scores off the response path, see
 * docs/evaluations.md); an invalid list fails when the class is defined.
 *
 * @example
 * \@TraceLLM({ model: 'gpt-4o-mini', provider: 'openai', evaluators: [citationEvaluator()] })
 * complete(messages: Message[]) { return this.openai.chat.completions.create({ model: 'gpt-4o-mini', messages }); }
 */
export function TraceLLM(options: TraceLLMOptions = {}): MethodDecorator {
  // Without a model the span is named after the requested one as `unknown`; the response model
  // read from the result is still recorded.
  const { inputFrom, ...rest } = options;
  const callOptions: LlmCallOptions = { ...rest, model: options.model ?? 'unknown' };
  if (options.evaluators !== undefined) resolveEvaluatorList('@TraceLLM evaluators', options.evaluators);
  return (_target, _key, descriptor) => {
    wrapMethod(descriptor, (original) =>
      function tracedLlmCall(this: unknown, ...args: unknown[]) {
        // With inputFrom, one options object per call carries that call's prompt.
        const call = inputFrom === undefined ? callOptions : { ...callOptions, input: pickInput(inputFrom, args) };
        return traceLLM(call, () => original.apply(this, args));
      });
  };
}
