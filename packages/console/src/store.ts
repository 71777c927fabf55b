import type { GuardEvent, LlmCallRecord, RequestRecord, ScoreRecord } from '@llmscope/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ResolvedConsoleOptions } from './options';
import type { CallView, LogView, RequestView, SpanView, TraceEntry } from './views';

const MAX_ATTRIBUTES = 40;
const MAX_ATTRIBUTE_LENGTH = 512;
const MAX_ERROR_LENGTH = 300;
/** Prompt guard events kept (rollouts move a few times an hour at most). */
const MAX_GUARD_EVENTS = 100;

function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) + '…' : value;
}

function errorMessage(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  return clip(error instanceof Error ? `${error.name}: ${error.message}` : String(error), MAX_ERROR_LENGTH);
}

/** Copies a log line's fields: primitives kept (strings clipped), anything else as clipped text; at most {@link MAX_ATTRIBUTES}. */
function logFields(obj: object): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {};
  let n = 0;
  for (const key in obj) {
    if (n++ >= MAX_ATTRIBUTES) break;
    const v = (obj as Record<string, unknown>)[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') fields[key] = clip(v, MAX_ATTRIBUTE_LENGTH);
    else if (typeof v === 'number' || typeof v === 'boolean') fields[key] = v;
    else if (v instanceof Error) fields[key] = clip(`${v.name}: ${v.message}`, MAX_ATTRIBUTE_LENGTH);
    else fields[key] = clip(String(v), MAX_ATTRIBUTE_LENGTH);
  }
  return fields;
}

function hrMs(t: readonly [number, number]): number {
  return t[0] * 1e3 + t[1] / 1e6;
}

/**
 * The console's bounded in-memory store, fed as sinks of the llmscope instance. Finished requests
 * are a ring of `maxRequests` (an untraced one gets the id `r<n>`); traces are keyed by trace id in
 * a Map kept in insertion order, dropped with their request, and past `2 × maxRequests` entries
 * (traces whose request has not finished yet) the oldest go. LLM calls are also kept in their own ring (`maxCalls`) for the aggregates, which cover
 * untraced calls too. Each entry holds at most `maxSpansPerTrace` spans and as many calls and scores.
 * Log lines are a ring of `maxLogLines`, at most `maxLogLinesPerTrace` of each trace.
 */
export class ConsoleStore {
  private readonly entries = new Map<string, TraceEntry>();
  /**
   * Finished requests, a ring of `maxRequests`: `orderHead` is the oldest once full. A ring, not
   * push/shift (shift() on a full array cost ~10 µs a request). Untraced requests live only here:
   * no map entry, no arrays, as little as possible kept per request.
   */
  private readonly order: RequestView[] = [];
  private orderHead = 0;
  /** LLM calls, a ring of `maxCalls`: `callsHead` is the next slot to overwrite once full. */
  private readonly calls: CallView[] = [];
  private callsHead = 0;
  private untraced = 0;
  /** Log lines, a ring of `maxLogLines`: `logsHead` is the next slot to overwrite once full. */
  private readonly logs: LogView[] = [];
  private logsHead = 0;
  private readonly listeners = new Set<(r: RequestView) => void>();
  private readonly events: Array<GuardEvent & { readonly timeMs: number }> = [];

  constructor(readonly limits: ResolvedConsoleOptions) {}

  /** Listens to finished requests (the live list); returns the remover. */
  onRequest(listener: (r: RequestView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private entry(id: string): TraceEntry {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { id, request: undefined, calls: [], scores: [], spans: [], logLines: 0 };
      this.entries.set(id, e);
      const max = this.limits.maxRequests * 2;
      if (this.entries.size > max) {
        // Map iteration is insertion order: the first key is the oldest.
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
    }
    return e;
  }

  /** Request sink. */
  readonly addRequest = (r: RequestRecord): void => {
    const id = r.traceId ?? `r${++this.untraced}`;
    const view: RequestView = {
      id, method: r.method, route: r.route, status: r.statusCode, startTimeMs: r.startTimeMs, durationMs: r.durationMs,
      userId: r.userId, sessionId: r.sessionId, feature: r.feature, promptName: r.promptName, promptVersion: r.promptVersion,
      traceId: r.traceId, llmCalls: r.llm?.calls ?? 0, inputTokens: r.llm?.inputTokens ?? 0, outputTokens: r.llm?.outputTokens ?? 0,
      costUsd: r.llm?.costUsd ?? 0, error: errorMessage(r.error),
    };
    if (r.traceId !== undefined) this.entry(r.traceId).request = view;
    if (this.order.length < this.limits.maxRequests) this.order.push(view);
    else {
      const gone = this.order[this.orderHead] as RequestView;
      if (gone.traceId !== undefined) this.entries.delete(gone.traceId);
      this.order[this.orderHead] = view;
      this.orderHead = (this.orderHead + 1) % this.limits.maxRequests;
    }
    for (const listener of this.listeners) listener(view);
  };

  /** LLM-call sink. */
  readonly addCall = (c: LlmCallRecord): void => {
    const view: CallView = {
      traceId: c.traceId, spanId: c.spanId, operation: c.operation, provider: c.provider, model: c.model,
      startTimeMs: c.startTimeMs, durationMs: c.seconds * 1000,
      ttftMs: c.timeToFirstChunk === undefined ? undefined : c.timeToFirstChunk * 1000,
      inputTokens: c.inputTokens, outputTokens: c.outputTokens, costUsd: c.costUsd, outcome: c.outcome, errorType: c.errorType,
      userId: c.userId, sessionId: c.sessionId, feature: c.feature, promptName: c.promptName, promptVersion: c.promptVersion,
      promptExperiment: c.promptExperiment, inputMessages: c.inputMessages, outputMessages: c.outputMessages,
    };
    if (this.calls.length < this.limits.maxCalls) this.calls.push(view);
    else {
      this.calls[this.callsHead] = view;
      this.callsHead = (this.callsHead + 1) % this.limits.maxCalls;
    }
    if (c.traceId === undefined) return;
    const e = this.entry(c.traceId);
    if (e.calls.length < this.limits.maxSpansPerTrace) e.calls.push(view);
  };

  /** Score sink. */
  readonly addScore = (s: ScoreRecord): void => {
    if (s.traceId === undefined) return;
    const e = this.entry(s.traceId);
    if (e.scores.length >= this.limits.maxSpansPerTrace) return;
    e.scores.push({
      name: s.name, value: s.value, source: s.source, evaluator: s.evaluator, traceId: s.traceId, spanId: s.spanId,
      promptName: s.promptName, promptVersion: s.promptVersion, comment: s.comment, timestampMs: s.timestampMs,
    });
  };

  /**
   * A log line of trace `traceId` (the console's logger tee calls this for lines that have a
   * trace): kept while its trace has fewer than `maxLogLinesPerTrace`, in a ring of `maxLogLines`.
   */
  addLog(traceId: string, level: LogView['level'], obj: object, msg: string | undefined): void {
    const e = this.entry(traceId);
    if (e.logLines >= this.limits.maxLogLinesPerTrace) return;
    e.logLines++;
    const view: LogView = { traceId, timeMs: Date.now(), level, msg: msg === undefined ? undefined : clip(msg, MAX_ATTRIBUTE_LENGTH), fields: logFields(obj) };
    if (this.logs.length < this.limits.maxLogLines) this.logs.push(view);
    else {
      this.logs[this.logsHead] = view;
      this.logsHead = (this.logsHead + 1) % this.limits.maxLogLines;
    }
  }

  /** The log lines of a trace still in the ring, oldest first (when the API asks). */
  logsOf(traceId: string): LogView[] {
    const n = this.logs.length;
    const out: LogView[] = [];
    for (let i = 0; i < n; i++) {
      const l = this.logs[(this.logsHead + i) % n] as LogView;
      if (l.traceId === traceId) out.push(l);
    }
    return out;
  }

  /** Span of a kept trace (from the instance's export stage). */
  addSpan(span: ReadableSpan): void {
    const ctx = span.spanContext();
    const e = this.entry(ctx.traceId);
    if (e.spans.length >= this.limits.maxSpansPerTrace) return;
    const attributes: Record<string, string | number | boolean> = {};
    let n = 0;
    for (const key in span.attributes) {
      if (n++ >= MAX_ATTRIBUTES) break;
      const v = span.attributes[key];
      if (typeof v === 'string') attributes[key] = clip(v, MAX_ATTRIBUTE_LENGTH);
      else if (typeof v === 'number' || typeof v === 'boolean') attributes[key] = v;
      else if (Array.isArray(v)) attributes[key] = clip(v.join(', '), MAX_ATTRIBUTE_LENGTH);
    }
    const view: SpanView = {
      spanId: ctx.spanId, parentSpanId: span.parentSpanContext?.spanId, name: span.name, kind: span.kind,
      startTimeMs: hrMs(span.startTime), durationMs: hrMs(span.duration), error: span.status.code === 2, attributes,
    };
    e.spans.push(view);
  }

  /** Prompt guard sink: rollout steps, promotions, holds and rollbacks (the last {@link MAX_GUARD_EVENTS}). */
  readonly addGuardEvent = (e: GuardEvent): void => {
    if (this.events.length >= MAX_GUARD_EVENTS) this.events.shift();
    this.events.push({ ...e, timeMs: Date.now() });
  };

  /** The prompt guard events held, newest first. */
  guardEvents(): Array<GuardEvent & { readonly timeMs: number }> {
    return this.events.slice().reverse();
  }

  /** Finished requests still held, newest first. */
  requests(): RequestView[] {
    const out: RequestView[] = [];
    const n = this.order.length;
    for (let i = n - 1; i >= 0; i--) out.push(this.order[(this.orderHead + i) % n] as RequestView);
    return out;
  }

  /** One trace (or untraced request) by id. */
  trace(id: string): TraceEntry | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined || !id.startsWith('r')) return entry;
    // An untraced request: looked up in the ring (only when the API asks).
    const request = this.order.find((r) => r.id === id);
    return request === undefined ? undefined : { id, request, calls: [], scores: [], spans: [], logLines: 0 };
  }

  /** LLM calls started within the last `windowMs`, oldest first. */
  callsSince(windowMs: number): CallView[] {
    const from = Date.now() - windowMs;
    const n = this.calls.length;
    const out: CallView[] = [];
    for (let i = 0; i < n; i++) {
      const c = this.calls[(this.callsHead + i) % n] as CallView;
      if (c.startTimeMs >= from) out.push(c);
    }
    return out;
  }

  /** How much is held, against the caps (`traces`: map entries, i.e. traced requests and traces whose request is still running). */
  stats(): { requests: number; traces: number; calls: number; logLines: number; limits: Record<string, number> } {
    const l = this.limits;
    return {
      requests: this.order.length, traces: this.entries.size, calls: this.calls.length, logLines: this.logs.length,
      limits: { maxRequests: l.maxRequests, maxCalls: l.maxCalls, maxSpansPerTrace: l.maxSpansPerTrace, maxLogLines: l.maxLogLines, maxLogLinesPerTrace: l.maxLogLinesPerTrace, windowMinutes: l.windowMs / 60_000 },
    };
  }
}
