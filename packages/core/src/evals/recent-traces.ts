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
 * feedback) keeps the prompt version, feature and session its trace had. Bounded: the trace first
 * remembered longest ago is forgotten first (a trace's later calls update its facts, not its
 * place). Fed by the LLM-call records (requests without LLM calls cost nothing).
 */
export class RecentTraces {
  private readonly traces = new Map<string, TraceFacts>();
  /**
   * Trace ids in the order they were first remembered, a ring of `max` slots: the slot about to be
   * reused holds the id to forget. Not `map.keys().next()` after a delete + set per call: V8 keeps
   * deleted entries at the front of a Map until it rehashes, so that walk grew to ~6 µs a call
   * with a full index (docs/performance.md).
   */
  private readonly order: (string | undefined)[];
  private next = 0;

  constructor(private readonly max: number) {
    this.order = new Array<string | undefined>(max).fill(undefined);
  }

  /** An LLM-call sink: remembers the call's trace. */
  readonly remember = (r: LlmCallRecord): void => {
    if (r.traceId === undefined || this.max === 0) return;
    const known = this.traces.has(r.traceId);
    this.traces.set(r.traceId, {
      sessionId: r.sessionId, userId: r.userId, feature: r.feature,
      promptName: r.promptName, promptVersion: r.promptVersion, lastCallSpanId: r.spanId, requestSpanId: r.requestSpanId,
    });
    if (known) return;
    const oldest = this.order[this.next];
    if (oldest !== undefined) this.traces.delete(oldest);
    this.order[this.next] = r.traceId;
    this.next = this.next + 1 === this.max ? 0 : this.next + 1;
  };

  get(traceId: string): TraceFacts | undefined {
    return this.traces.get(traceId);
  }

  get size(): number {
    return this.traces.size;
  }
}
