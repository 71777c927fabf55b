import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { storage } from './context';
import type { LlmCallRecord } from './llm-metrics';
import { readResult, type LlmUsage } from './llm-usage';
import { currentRecorder } from './recorder';
import { failSpan, runInSpan } from './span-run';
import { getTracer } from './tracing';

/** GenAI operation names of the OpenTelemetry semantic conventions. */
export type GenAiOperation = 'chat' | 'text_completion' | 'embeddings' | 'retrieval' | 'execute_tool' | 'generate_content' | 'create_agent' | 'invoke_agent';

/** Describes an LLM call for {@link traceLLM}. */
export interface LlmCallOptions {
  /** Requested model, e.g. `gpt-4o-mini`. Becomes `gen_ai.request.model` and the `model` label. */
  model: string;
  /** Provider, e.g. `openai`, `anthropic`, `aws.bedrock` (`gen_ai.provider.name`). Default `unknown`. */
  provider?: string;
  /** Default `chat`. */
  operation?: GenAiOperation;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  /** Prompt name and version; default: those set on the request (`setPromptVersion`). */
  promptName?: string;
  promptVersion?: string;
  /** Extra span attributes. */
  attributes?: Attributes;
}

/** Handle given to the function traced by {@link traceLLM}, to report what the result does not say. */
export interface LlmCall {
  /** The LLM span (undefined when tracing is off). */
  readonly span: Span | undefined;
  /** Reports token usage (overrides what is read from the result). */
  setUsage(usage: LlmUsage): void;
  /** Reports the model that answered (`gen_ai.response.model`). */
  setResponseModel(model: string): void;
}

const MAX_LABEL = 128;

function label(value: string | undefined, fallback: string): string {
  if (typeof value !== 'string' || value.length === 0) return fallback;
  return value.length > MAX_LABEL ? value.slice(0, MAX_LABEL) : value;
}

class LlmCallHandle implements LlmCall {
  usage: LlmUsage | undefined;
  responseModel: string | undefined;
  constructor(readonly span: Span | undefined) {}
  setUsage(usage: LlmUsage): void {
    if (usage !== null && typeof usage === 'object') this.usage = usage;
  }
  setResponseModel(model: string): void {
    if (typeof model === 'string') this.responseModel = model;
  }
}

/**
 * Traces one LLM call: a CLIENT span named `{operation} {model}` with GenAI semantic-convention
 * attributes, child of the current span, and the LLM duration and token metrics. Token usage
 * and response model are read from an OpenAI- or Anthropic-shaped result, or reported through
 * the {@link LlmCall} handle. The result or error of `fn` passes through unchanged.
 *
 * @example
 * const reply = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, () =>
 *   openai.chat.completions.create({ model: 'gpt-4o-mini', messages }));
 */
export function traceLLM<T>(options: LlmCallOptions, fn: (call: LlmCall) => T): T {
  const recorder = currentRecorder();
  const ctx = storage.getStore();
  const operation = label(options.operation, 'chat');
  const model = label(options.model, 'unknown');
  const provider = label(options.provider, 'unknown');
  let span: Span | undefined;
  if (recorder === undefined || recorder.tracingOn) {
    const attributes: Attributes = {
      'gen_ai.operation.name': operation,
      'gen_ai.provider.name': provider,
      'gen_ai.request.model': model,
    };
    if (typeof options.temperature === 'number') attributes['gen_ai.request.temperature'] = options.temperature;
    if (typeof options.maxTokens === 'number') attributes['gen_ai.request.max_tokens'] = options.maxTokens;
    if (typeof options.topP === 'number') attributes['gen_ai.request.top_p'] = options.topP;
    const promptName = options.promptName ?? ctx?.promptName;
    const promptVersion = options.promptVersion ?? ctx?.promptVersion;
    if (promptName !== undefined) attributes['llmscope.prompt.name'] = promptName;
    if (promptVersion !== undefined) attributes['llmscope.prompt.version'] = promptVersion;
    if (ctx?.sessionId !== undefined) attributes['gen_ai.conversation.id'] = ctx.sessionId;
    if (ctx?.userId !== undefined) attributes['user.id'] = ctx.userId;
    if (ctx?.feature !== undefined) attributes['llmscope.feature'] = ctx.feature;
    if (options.attributes) Object.assign(attributes, options.attributes);
    span = getTracer().startSpan(`${operation} ${model}`, { kind: SpanKind.CLIENT, attributes });
  }
  const call = new LlmCallHandle(span);
  const start = performance.now();
  return runInSpan(span, () => fn(call), (error, value, failed) => {
    const read = failed ? undefined : readResult(value);
    const usage = call.usage ?? read?.usage;
    const responseModel = call.responseModel ?? read?.model;
    if (span) {
      if (responseModel !== undefined) span.setAttribute('gen_ai.response.model', responseModel);
      if (read?.id !== undefined) span.setAttribute('gen_ai.response.id', read.id);
      if (usage?.inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', usage.inputTokens);
      if (usage?.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', usage.outputTokens);
      if (failed) failSpan(span, error);
      span.end();
    }
    const record: LlmCallRecord = {
      operation,
      provider,
      model,
      seconds: (performance.now() - start) / 1000,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      error: failed,
    };
    recorder?.recordLlmCall(record);
  });
}
