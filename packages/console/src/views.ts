/** What the console keeps of each event: small plain objects, serialised only when the API is asked. */

/** One finished request. */
export interface RequestView {
  /** The trace id, or `r<n>` for an untraced request. */
  readonly id: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  /** Milliseconds since the epoch. */
  readonly startTimeMs: number;
  readonly durationMs: number;
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  readonly traceId: string | undefined;
  readonly llmCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
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

/** Everything the console holds about one trace (or one untraced request). */
export interface TraceEntry {
  readonly id: string;
  request: RequestView | undefined;
  readonly calls: CallView[];
  readonly scores: ScoreView[];
  readonly spans: SpanView[];
}
