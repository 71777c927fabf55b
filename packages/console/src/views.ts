/** What the console keeps of each event: small plain objects, serialised only when the API is asked. */
import type { LlmTotals, RequestRecord } from '@llmscope/core';

/** One finished request: the fields of core's `RequestRecord`, its LLM totals flattened (`llm.calls` as `llmCalls`), the error as text. */
export interface RequestView
  extends Pick<RequestRecord, 'method' | 'route' | 'startTimeMs' | 'durationMs' | 'userId' | 'sessionId' | 'feature' | 'promptName' | 'promptVersion' | 'traceId'>,
    Readonly<Omit<LlmTotals, 'calls'>> {
  /** The trace id, or `r<n>` for an untraced request. */
  readonly id: string;
  /** `RequestRecord.statusCode`. */
  readonly status: RequestRecord['statusCode'];
  /** `LlmTotals.calls` (the totals are zeros when the request made no LLM call). */
  readonly llmCalls: LlmTotals['calls'];
  /** The error's message (clipped), when an error reached the framework. */
  readonly error: string | undefined;
}

/** One LLM call. */
export interface CallView {
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly operation: string;
  readonly provider: string;
  readonly model: string;
  readonly startTimeMs: number;
  readonly durationMs: number;
  /** Time to the first streamed chunk, ms. */
  readonly ttftMs: number | undefined;
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  readonly costUsd: number | null | undefined;
  readonly outcome: 'ok' | 'error';
  readonly errorType: string | undefined;
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  readonly promptExperiment: string | undefined;
  /** Captured messages (content capture on), as the exporters receive them. */
  readonly inputMessages: string | undefined;
  readonly outputMessages: string | undefined;
}

/** One score. */
export interface ScoreView {
  readonly name: string;
  readonly value: number | boolean | string;
  readonly source: string;
  readonly evaluator: string;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  readonly comment: string | undefined;
  readonly timestampMs: number;
}

/** One span of a kept trace (the waterfall). */
export interface SpanView {
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly startTimeMs: number;
  readonly durationMs: number;
  readonly error: boolean;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** One log line of a trace: llmscope's own (`http_request`, `llm_call`, `score`...) or the app's, logged through the console's logger. */
export interface LogView {
  readonly traceId: string;
  /** Milliseconds since the epoch, when the line was written. */
  readonly timeMs: number;
  readonly level: 'info' | 'warn' | 'error';
  /** The line's message (pino's second argument). */
  readonly msg: string | undefined;
  /** The line's fields: strings, numbers and booleans (strings clipped, other values as text); at most 40. */
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

/** Everything the console holds about one trace (or one untraced request). */
export interface TraceEntry {
  readonly id: string;
  request: RequestView | undefined;
  readonly calls: CallView[];
  readonly scores: ScoreView[];
  readonly spans: SpanView[];
  /** Log lines of the trace that the store took (at most `maxLogLinesPerTrace`; the lines themselves are in the store's ring of `maxLogLines`). */
  logLines: number;
}

/** A trace as the API answers it: its entry and its log lines still in the store. */
export interface TraceView extends Omit<TraceEntry, 'logLines'> {
  readonly logs: readonly LogView[];
}
