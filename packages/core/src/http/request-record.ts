import type { LlmTotals } from '../context/context';

/**
 * One finished request, as request sinks ({@link Llmscope.onRequest}) receive it. Built only when
 * a sink is registered; own routes (metrics, feedback, console) and excluded requests have none.
 */
export interface RequestRecord {
  /** The method label (normalised: unknown methods are `_OTHER`). */
  readonly method: string;
  /** The route template, or the unmatched label (`metrics.unmatchedRoute`). */
  readonly route: string;
  /** Whether a route of the app matched. */
  readonly matched: boolean;
  readonly statusCode: number;
  /** Wall-clock start, milliseconds since the epoch. */
  readonly startTimeMs: number;
  readonly durationMs: number;
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  /** Trace id, when the request is traced. */
  readonly traceId: string | undefined;
  /** The request's LLM calls added up; undefined when it made none. */
  readonly llm: Readonly<LlmTotals> | undefined;
  /** The error that reached the framework, if any. */
  readonly error: unknown;
}

/** A consumer of finished requests. Runs synchronously when the response closes: keep it cheap; a throwing sink is skipped. */
export type RequestSink = (record: RequestRecord) => void;
