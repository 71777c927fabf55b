import { AsyncLocalStorage } from 'node:async_hooks';
import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { getContext } from '../context/context';
import { inputMessages, outputMessages } from './content';
import type { LlmCallRecord } from './metrics';
import { defaultPriceBook } from './cost/prices';
import { markRecordedDirectly } from './span-records';
import { estimateTokens, type LlmResultInfo, type LlmUsage } from './usage';
import { currentRecorder, type Recorder } from '../context/recorder';
import { errorType, failSpan } from '../tracing/span-run';
import { getTracer } from '../tracing/provider';

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
  /** Product feature; default: the request's (`setFeature`). */
  feature?: string;
  /**
   * The prompt messages (OpenAI/Anthropic `messages`, or a string), put on the span as
   * `gen_ai.input.messages` only when `llm.captureContent` is on.
   */
  input?: unknown;
  /** System prompt, captured with `input`. */
  system?: unknown;
  /**
   * Whether an async-iterable result is a streamed answer to observe chunk by chunk (time to
   * first chunk, span ending with the stream). Default `true`.
   */
  stream?: boolean;
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
  /** Counts one retried attempt (for a client whose retries llmscope does not see). */
  addRetry(): void;
  /** Marks the first chunk of a streamed answer now (when the stream is not the returned value). */
  markFirstChunk(): void;
}

const MAX_ATTRIBUTE = 256;

function clip(value: string | undefined): string | undefined {
  return value !== undefined && value.length > MAX_ATTRIBUTE ? value.slice(0, MAX_ATTRIBUTE) : value;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * One LLM call in flight: its span, timings, usage and the instance recording it. Created by
 * {@link startLlmCall}; ended exactly once by {@link LlmCallState.end}, whatever path the call
 * takes (result, error, end of stream, cancelled or abandoned stream).
 */
export class LlmCallState implements LlmCall {
  readonly span: Span | undefined;
  readonly recorder: Recorder | undefined;
  readonly start = performance.now();
  readonly operation: string;
  readonly provider: string;
  readonly model: string;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  usage: LlmUsage | undefined;
  /** Usage reported through {@link setUsage}: wins over what the result says. */
  private reportedUsage: LlmUsage | undefined;
  responseModel: string | undefined;
  private reportedModel: string | undefined;
  responseId: string | undefined;
  finishReasons: string[] | undefined;
  timeToFirstChunk: number | undefined;
  attempts = 0;
  private extraRetries = 0;
  estimated = false;
  outputText: string | undefined;
  ended = false;

  constructor(options: LlmCallOptions) {
    const recorder = currentRecorder();
    this.recorder = recorder;
    const ctx = getContext();
    this.operation = text(options.operation) ?? 'chat';
    this.provider = text(options.provider) ?? 'unknown';
    this.model = text(options.model) ?? 'unknown';
    this.feature = text(options.feature) ?? ctx?.feature;
    this.promptName = text(options.promptName) ?? ctx?.promptName;
    this.promptVersion = text(options.promptVersion) ?? ctx?.promptVersion;
    this.userId = ctx?.userId;
    this.sessionId = ctx?.sessionId;
    if (recorder !== undefined && !recorder.tracingOn) return;
    const attributes: Attributes = {
      'gen_ai.operation.name': this.operation,
      'gen_ai.provider.name': clip(this.provider),
      'gen_ai.request.model': clip(this.model),
    };
    if (typeof options.temperature === 'number') attributes['gen_ai.request.temperature'] = options.temperature;
    if (typeof options.maxTokens === 'number') attributes['gen_ai.request.max_tokens'] = options.maxTokens;
    if (typeof options.topP === 'number') attributes['gen_ai.request.top_p'] = options.topP;
    if (this.promptName !== undefined) attributes['llmscope.prompt.name'] = this.promptName;
    if (this.promptVersion !== undefined) attributes['llmscope.prompt.version'] = this.promptVersion;
    if (this.sessionId !== undefined) attributes['gen_ai.conversation.id'] = this.sessionId;
    if (this.userId !== undefined) attributes['user.id'] = this.userId;
    if (this.feature !== undefined) attributes['llmscope.feature'] = this.feature;
    const llm = recorder?.genai;
    if (llm?.options.captureContent && (options.input !== undefined || options.system !== undefined)) {
      const messages = inputMessages(options.input, options.system, llm.options.maxContentLength);
      if (messages !== undefined) attributes['gen_ai.input.messages'] = messages;
    }
    if (options.attributes) Object.assign(attributes, options.attributes);
    const span = getTracer().startSpan(`${this.operation} ${this.model}`, { kind: SpanKind.CLIENT, attributes });
    this.span = span;
    // Its metrics are recorded here, from 100% of calls; the span processor must not count it again.
    markRecordedDirectly(span, this.operation);
  }

  setUsage(usage: LlmUsage): void {
    if (usage !== null && typeof usage === 'object') this.reportedUsage = usage;
  }

  setResponseModel(model: string): void {
    if (typeof model === 'string') this.reportedModel = model;
  }

  addRetry(): void {
    this.extraRetries++;
  }

  /** Counts one HTTP attempt (the instrumented clients' fetch calls this). */
  attempt(): void {
    this.attempts++;
  }

  get retries(): number {
    return Math.max(0, this.attempts - 1) + this.extraRetries;
  }

  markFirstChunk(): void {
    if (this.timeToFirstChunk !== undefined || this.ended) return;
    this.timeToFirstChunk = (performance.now() - this.start) / 1000;
    this.span?.setAttribute('gen_ai.response.time_to_first_chunk', this.timeToFirstChunk);
  }

  /** Takes what the provider's answer says (what the app reported through the handle wins). */
  applyResult(info: LlmResultInfo | undefined): void {
    if (info === undefined) return;
    if (info.usage !== undefined) this.usage = info.usage;
    if (info.model !== undefined) this.responseModel = info.model;
    if (info.id !== undefined) this.responseId = info.id;
    if (info.finishReasons !== undefined) this.finishReasons = info.finishReasons;
    if (info.text !== undefined) this.outputText = info.text;
    if (info.embeddingDimensions !== undefined) this.span?.setAttribute('gen_ai.embeddings.dimension.count', info.embeddingDimensions);
  }

  /** Estimates output tokens from the streamed text when the provider sent no usage. */
  estimateOutput(characters: number): void {
    if (this.reportedUsage !== undefined || this.usage?.outputTokens !== undefined) return;
    this.usage = { ...this.usage, outputTokens: estimateTokens(characters) };
    this.estimated = true;
  }

  /**
   * Ends the call once: span attributes (response, usage, cost), span status, metrics and cost
   * attribution. `failed` with `error` marks it failed; `note` adds a stream outcome attribute.
   */
  end(error: unknown, failed: boolean, note?: 'cancelled' | 'abandoned'): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (performance.now() - this.start) / 1000;
    const usage = this.reportedUsage ?? this.usage;
    const responseModel = this.reportedModel ?? this.responseModel;
    const llm = this.recorder?.genai;
    const cost = usage === undefined ? undefined : (llm?.prices ?? defaultPriceBook).cost(this.provider, [responseModel, this.model], usage);
    const span = this.span;
    if (span !== undefined) {
      try {
        if (responseModel !== undefined) span.setAttribute('gen_ai.response.model', clip(responseModel) as string);
        if (this.responseId !== undefined) span.setAttribute('gen_ai.response.id', clip(this.responseId) as string);
        if (this.finishReasons !== undefined) span.setAttribute('gen_ai.response.finish_reasons', this.finishReasons);
        if (usage?.inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', usage.inputTokens);
        if (usage?.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', usage.outputTokens);
        if (usage?.cacheReadTokens !== undefined) span.setAttribute('gen_ai.usage.cache_read.input_tokens', usage.cacheReadTokens);
        if (usage?.cacheCreationTokens !== undefined) span.setAttribute('gen_ai.usage.cache_creation.input_tokens', usage.cacheCreationTokens);
        if (this.estimated && usage === this.usage) span.setAttribute('llmscope.usage.estimated', true);
        if (cost !== undefined) span.setAttribute('llmscope.cost.usd', cost);
        if (this.retries > 0) span.setAttribute('llmscope.retries', this.retries);
        if (note !== undefined) span.setAttribute(`llmscope.stream.${note}`, true);
        if (llm?.options.captureContent && this.outputText !== undefined) {
          span.setAttribute('gen_ai.output.messages', outputMessages(this.outputText, this.finishReasons?.[0], llm.options.maxContentLength));
        }
        if (failed) failSpan(span, error);
        span.end();
      } catch {
        // Telemetry never throws into the app.
      }
    }
    const recorder = this.recorder;
    if (recorder === undefined) return;
    const record: LlmCallRecord = {
      operation: this.operation,
      provider: this.provider,
      model: this.model,
      seconds,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      error: failed,
      errorType: failed ? errorType(error) : undefined,
      responseModel,
      cacheReadTokens: usage?.cacheReadTokens,
      cacheCreationTokens: usage?.cacheCreationTokens,
      timeToFirstChunk: this.timeToFirstChunk,
      retries: this.retries,
      costUsd: usage === undefined ? undefined : (cost ?? null),
      feature: this.feature,
      promptName: this.promptName,
      promptVersion: this.promptVersion,
      userId: this.userId,
      sessionId: this.sessionId,
    };
    try {
      recorder.recordLlmCall(record);
    } catch {
      // Same: a metrics problem must not fail the call.
    }
  }
}

/**
 * The LLM call the current code runs in (inside `traceLLM`'s function or an instrumented SDK
 * call): the instrumented clients' fetch counts attempts on it, and an instrumented call made
 * inside `traceLLM` joins it instead of recording the same call twice.
 */
export const currentLlmCall = new AsyncLocalStorage<LlmCallState>();

/** Starts an LLM call: the span (when tracing is on) and the clock. */
export function startLlmCall(options: LlmCallOptions): LlmCallState {
  return new LlmCallState(options);
}
