import type { LlmCallRecord } from '../genai/record';

/** What a late score needs to know of its trace. */
export interface TraceFacts {
  readonly sessionId: string | undefined;
  readonly userId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  /** Span of the trace's last LLM call (what a `call` score is about). */
  readonly lastCallSpanId: string | undefined;
  /** The request's server span (what a `trace` score hangs under). */
  readonly requestSpanId: string | undefined;
}

/**
 * The traces of the last N LLM calls, by trace id, so that a score arriving minutes later (user
 * feedback) keeps the prompt version, feature and session its trace had. Bounded: the oldest
 * trace is forgotten first. Fed by the LLM-call records (requests without LLM calls cost nothing).
 */
export class RecentTraces {
  private readonly traces = new Map<string, TraceFacts>();

  constructor(private readonly max: number) {}

  /** An LLM-call sink: remembers the call's trace. */
  readonly remember = (r: LlmCallRecord): void => {
    if (r.traceId === undefined || this.max === 0) return;
    // Re-inserted so that Map order is recency order.
    this.traces.delete(r.traceId);
    if (this.traces.size >= this.max) {
      const oldest = this.traces.keys().next().value;
      if (oldest !== undefined) this.traces.delete(oldest);
    }
    this.traces.set(r.traceId, {
      sessionId: r.sessionId, userId: r.userId, feature: r.feature,
      promptName: r.promptName, promptVersion: r.promptVersion, lastCallSpanId: r.spanId, requestSpanId: r.requestSpanId,
    });
  };

  get(traceId: string): TraceFacts | undefined {
    return this.traces.get(traceId);
  }

  get size(): number {
    return this.traces.size;
  }
}
