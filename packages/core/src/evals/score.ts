/** Where a score comes from. */
export type ScoreSource = 'human' | 'judge' | 'code';

/** What a score is about: one LLM call, the whole trace (request), or the session. */
export type ScoreTarget = 'call' | 'trace' | 'session';

/**
 * A score as given to {@link score}: numeric (0–1 for the quality histogram), boolean or
 * categorical (a string label).
 */
export interface ScoreInput {
  /** What is scored: `relevance`, `groundedness`, `user_feedback`, `citation_accuracy`, ... */
  name: string;
  /** A number (0–1 reaches the quality histogram), a boolean (1 or 0) or a category label. */
  value: number | boolean | string;
  /** Free text (a reviewer's note, a judge's explanation). Clipped; redacted before export. */
  comment?: string;
  /** Default `code`. */
  source?: ScoreSource;
  /** Who scored: `llm-judge`, `thumbs`, `citations`. Default: the score's name. */
  evaluator?: string;
  /**
   * The trace to score, for a score given after the request (user feedback minutes later). The
   * trace's prompt version, feature and session are taken from the recent-trace index. Default:
   * the current request's trace.
   */
  traceId?: string;
  /** The span (an LLM call's) the score is about, with `traceId`. */
  spanId?: string;
  /**
   * Default: `call` inside an LLM call (in `traceLLM`'s function), else `trace`; `session` scores
   * the current or given session.
   */
  target?: ScoreTarget;
}

/** A score once resolved against its trace: what every score sink receives. */
export interface ScoreRecord {
  readonly name: string;
  /** The value as given. */
  readonly value: number | boolean | string;
  /** `NUMERIC`, `BOOLEAN` or `CATEGORICAL` (Langfuse's data types). */
  readonly dataType: 'NUMERIC' | 'BOOLEAN' | 'CATEGORICAL';
  /** The number the metrics see (booleans as 1/0); undefined for a category. */
  readonly numericValue: number | undefined;
  readonly comment: string | undefined;
  readonly source: ScoreSource;
  readonly evaluator: string;
  readonly target: ScoreTarget;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly sessionId: string | undefined;
  readonly userId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  /** Milliseconds since the epoch. */
  readonly timestampMs: number;
}

/** A consumer of scores (metrics, trace, log line, Langfuse, the app's own). */
export type ScoreSink = (score: ScoreRecord) => void;
