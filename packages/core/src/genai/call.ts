import { AsyncLocalStorage } from 'node:async_hooks';
import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { getContext, type RequestContext } from '../context/context';
import { errorType, failSpan } from '../tracing/span-run';
import { getTracer } from '../tracing/provider';
import { inputMessages, outputMessages } from './content';
import { defaultPriceBook } from './cost/prices';
import { currentGenAiOwner } from './owner';
import { SHADOW_FEATURE, type LlmCallRecord } from './record';
import { endAttributes, startAttributes, type LlmCallStart } from './record-attributes';
import type { LlmRuntime } from './runtime';
import type { Evaluator } from '../evals/evaluator';
import type { GenAiOwner } from './owner';
import { estimateTokens, type LlmResultInfo, type LlmUsage } from './usage';
import { GEN_AI } from './schema';

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
  /**
   * Evaluators for this call only (besides `evaluations.evaluators`): they run on its record
   * after it ends, off the response path, sampled and queued like the configured ones. Pass the
   * same array on every call (a module constant, or `@TraceLLM({ evaluators })`): it is validated
   * once per array. See docs/evaluations.md.
   */
  evaluators?: readonly Evaluator[];
}

/** Handle given to the function traced by {@link traceLLM}, to report what the result does not say. */
export interface LlmCall {
  /** The LLM span (undefined when tracing is off). */
  readonly span: Span | undefined;
  /** The model to call: the requested one, or the cheaper one an exhausted budget chose (`budgets.onExhausted`). */
  readonly model: string;
  /** Reports token usage (overrides what is read from the result). */
  setUsage(usage: LlmUsage): void;
  /** Reports the model that answered (`gen_ai.response.model`). */
  setResponseModel(model: string): void;
  /** Counts one retried attempt (for a client whose retries llmscope does not see). */
  addRetry(): void;
  /** Marks the first chunk of a streamed answer now (when the stream is not the returned value). */
  markFirstChunk(): void;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * One LLM call in flight: its span, timings, usage and the instance recording it. Created by
 * {@link startLlmCall}; ended exactly once by {@link LlmCallState.end}, whatever path the call
 * takes (result, error, end of stream, cancelled or abandoned stream), which builds the call's
 * one {@link LlmCallRecord} and hands it to the instance's sinks.
 */
export class LlmCallState implements LlmCall {
  readonly span: Span | undefined;
  /** The LLM side of the instance recording this call (undefined without any instance). */
  readonly runtime: LlmRuntime | undefined;
  /** The instance recording the call, and the call's own evaluators (rarely set). */
  private readonly owner: GenAiOwner | undefined;
  private readonly evaluators: readonly Evaluator[] | undefined;
  /** The request the call belongs to, for its totals. */
  private readonly ctx: RequestContext | undefined;
  readonly start = performance.now();
  private readonly startTimeMs = Date.now();
  private readonly request: LlmCallStart;
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
    const owner = currentGenAiOwner();
    const runtime = owner?.genai;
    this.runtime = runtime;
    this.owner = owner;
    this.evaluators = options.evaluators !== undefined && options.evaluators.length > 0 ? options.evaluators : undefined;
    const ctx = getContext();
    this.ctx = ctx;
    const capture = runtime?.options.captureContent === true && (options.input !== undefined || options.system !== undefined);
    // A shadow run's context: its calls stay apart in every metric, whatever feature the call names.
    const shadow = ctx?.feature === SHADOW_FEATURE;
    this.request = {
      operation: text(options.operation) ?? 'chat',
      provider: text(options.provider) ?? 'unknown',
      model: text(options.model) ?? 'unknown',
      temperature: finite(options.temperature),
      maxTokens: finite(options.maxTokens),
      topP: finite(options.topP),
      feature: shadow ? SHADOW_FEATURE : text(options.feature) ?? ctx?.feature,
      shadow: shadow || undefined,
      promptName: text(options.promptName) ?? ctx?.promptName,
      promptVersion: text(options.promptVersion) ?? ctx?.promptVersion,
      // The request's experiment describes the request's prompt only, not one named by the call.
      promptExperiment: options.promptName === undefined && options.promptVersion === undefined ? ctx?.promptExperiment : undefined,
      userId: ctx?.userId,
      sessionId: ctx?.sessionId,
      inputMessages: capture ? inputMessages(options.input, options.system, (runtime as LlmRuntime).options.maxContentLength) : undefined,
    };
    if (owner !== undefined && !owner.tracingOn) return;
    const attributes = startAttributes(this.request);
    if (options.attributes) Object.assign(attributes, options.attributes);
    this.span = getTracer().startSpan(`${this.request.operation} ${this.request.model}`, { kind: SpanKind.CLIENT, attributes });
  }

  /** `gen_ai.operation.name` of the call. */
  get operation(): string {
    return this.request.operation;
  }

  get model(): string {
    return this.request.model;
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
  }

  /** Takes what the provider's answer says (what the app reported through the handle wins). */
  applyResult(info: LlmResultInfo | undefined): void {
    if (info === undefined) return;
    if (info.usage !== undefined) this.usage = info.usage;
    if (info.model !== undefined) this.responseModel = info.model;
    if (info.id !== undefined) this.responseId = info.id;
    if (info.finishReasons !== undefined) this.finishReasons = info.finishReasons;
    if (info.text !== undefined) this.outputText = info.text;
    if (info.embeddingDimensions !== undefined) this.span?.setAttribute(GEN_AI.embeddingDimensions, info.embeddingDimensions);
  }

  /** Estimates output tokens from the streamed text when the provider sent no usage. */
  estimateOutput(characters: number): void {
    if (this.reportedUsage !== undefined || this.usage?.outputTokens !== undefined) return;
    const u = this.usage;
    // Named fields, not `{ ...u, outputTokens }` (a new hidden class per object on Node 20).
    this.usage = { inputTokens: u?.inputTokens, outputTokens: estimateTokens(characters), cacheReadTokens: u?.cacheReadTokens, cacheCreationTokens: u?.cacheCreationTokens, reasoningTokens: u?.reasoningTokens };
    this.estimated = true;
  }

  /**
   * Ends the call once: builds its record (priced once), writes the end attributes and status on
   * the span from it, ends the span, then hands the record to the instance's sinks. `failed`
   * with `error` marks it failed; `streamEnd` says how a stream ended early.
   */
  end(error: unknown, failed: boolean, streamEnd?: 'cancelled' | 'abandoned'): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (performance.now() - this.start) / 1000;
    const usage = this.reportedUsage ?? this.usage;
    const responseModel = this.reportedModel ?? this.responseModel;
    const runtime = this.runtime;
    const r = this.request;
    const span = this.span;
    const ids = span?.spanContext();
    const costUsd = runtime !== undefined ? runtime.price(r.provider, responseModel, r.model, usage)
      : usage === undefined ? undefined : defaultPriceBook.cost(r.provider, [responseModel, r.model], usage) ?? null;
    // Every field named, no `...r` spread: on Node 20 (V8 11.3) an object literal that spreads an
    // object and then adds properties gets a new hidden class (map) per object, so each call cost a
    // run of map allocations (~10x the whole record path, plus GC) and made every sink reading the
    // record megamorphic (docs/performance.md, "The LLM-call record and object spread").
    const record: LlmCallRecord = {
      traceId: ids?.traceId,
      spanId: ids?.spanId,
      requestSpanId: this.ctx?.span?.spanContext().spanId,
      operation: r.operation,
      provider: r.provider,
      model: r.model,
      responseModel,
      responseId: this.responseId,
      finishReasons: this.finishReasons,
      temperature: r.temperature,
      maxTokens: r.maxTokens,
      topP: r.topP,
      startTimeMs: this.startTimeMs,
      seconds,
      timeToFirstChunk: this.timeToFirstChunk,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      cacheReadTokens: usage?.cacheReadTokens,
      cacheCreationTokens: usage?.cacheCreationTokens,
      reasoningTokens: usage?.reasoningTokens,
      usageEstimated: this.estimated && usage === this.usage,
      costUsd,
      retries: this.retries,
      outcome: failed ? 'error' : 'ok',
      errorType: failed ? errorType(error) : undefined,
      error: failed ? error : undefined,
      streamEnd,
      userId: r.userId,
      sessionId: r.sessionId,
      feature: r.feature,
      promptName: r.promptName,
      promptVersion: r.promptVersion,
      promptExperiment: r.promptExperiment,
      shadow: r.shadow,
      inputMessages: r.inputMessages,
      outputMessages: runtime?.options.captureContent && this.outputText !== undefined
        ? outputMessages(this.outputText, this.finishReasons?.[0], runtime.options.maxContentLength) : undefined,
      source: 'llmscope',
    };
    if (span !== undefined) {
      try {
        span.setAttributes(endAttributes(record));
        if (failed) failSpan(span, error);
        span.end();
      } catch {
        // Telemetry never throws into the app.
      }
    }
    runtime?.emit(record, this.ctx);
    if (this.evaluators !== undefined) this.owner?.evaluateCall(record, this.evaluators);
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
