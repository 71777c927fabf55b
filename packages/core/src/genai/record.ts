/**
 * One finished LLM call, whatever recorded it (`traceLLM`, an SDK wrapper, another tool's GenAI
 * span). Built once when the call ends, priced once, then handed unchanged to every sink:
 * metrics, cost attribution, request totals, the log line, Sentry (and later evaluations and the
 * console). Tracing on or off, sampled or not, the same record reaches the same sinks.
 */
export interface LlmCallRecord {
  /** Trace and span id of the call's span; undefined when it has none (tracing off). */
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  /** Span id of the request (server span) the call was made in, when there is one. */
  readonly requestSpanId: string | undefined;
  /** `gen_ai.operation.name`: chat, embeddings, ... */
  readonly operation: string;
  /** `gen_ai.provider.name` (`gen_ai.system` in older conventions). */
  readonly provider: string;
  /** `gen_ai.request.model` (else the response model). */
  readonly model: string;
  /** `gen_ai.response.model`, used to price the call when it is more specific. */
  readonly responseModel: string | undefined;
  readonly responseId: string | undefined;
  readonly finishReasons: readonly string[] | undefined;
  /** Request parameters, when given. */
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  readonly topP: number | undefined;
  /** Wall-clock start, milliseconds since the epoch. */
  readonly startTimeMs: number;
  /** Duration in seconds. */
  readonly seconds: number;
  /** Seconds from the request to the first chunk of a streamed answer. */
  readonly timeToFirstChunk: number | undefined;
  /** Every input token, cached ones included. */
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  /** Parts of `inputTokens` read from or written to the provider's prompt cache. */
  readonly cacheReadTokens: number | undefined;
  readonly cacheCreationTokens: number | undefined;
  /** Part of `outputTokens` spent reasoning, when the provider says. */
  readonly reasoningTokens?: number | undefined;
  /** True when output tokens were estimated from streamed text (the provider sent none). */
  readonly usageEstimated: boolean;
  /** Cost in USD; `null` when usage is known but the model has no price; `undefined` without usage. */
  readonly costUsd: number | null | undefined;
  /** Attempts beyond the first (SDK retries). */
  readonly retries: number;
  readonly outcome: 'ok' | 'error';
  /** `error.type` of a failed call. */
  readonly errorType: string | undefined;
  /** The error a failed call threw (for Sentry); undefined on success. */
  readonly error: unknown;
  /** How a streamed answer ended early, if it did. */
  readonly streamEnd: 'cancelled' | 'abandoned' | undefined;
  /** Request context at the start of the call (user and session are never metric labels). */
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  /** The prompt experiment that assigned `promptVersion` (`getPrompt()` with `prompts.experiments`). */
  readonly promptExperiment?: string | undefined;
  /**
   * True for a call of a shadow run (`runShadow()`): a candidate prompt version run off the
   * response path, whose output is never returned. Its `feature` is then {@link SHADOW_FEATURE}.
   */
  readonly shadow?: boolean | undefined;
  /** Prompt and answer as captured (`llm.captureContent`), JSON in the GenAI message format. */
  readonly inputMessages: string | undefined;
  readonly outputMessages: string | undefined;
  /** `llmscope` for calls llmscope traced itself; `span` for another tool's GenAI span. */
  readonly source: 'llmscope' | 'span';
}

/**
 * The feature of shadow runs' contexts, hence of their LLM calls: metrics tell shadow calls apart
 * by `feature="llmscope.shadow"` (a bounded label they already have), with `prompt_version` the
 * candidate's.
 */
export const SHADOW_FEATURE = 'llmscope.shadow';

/**
 * A consumer of finished LLM calls. Sinks run synchronously when a call ends, so they must be
 * cheap and must not throw (a throwing sink is skipped; the others still run).
 */
export type LlmCallSink = (record: LlmCallRecord) => void;
