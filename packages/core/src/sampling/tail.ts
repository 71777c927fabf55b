import { SpanStatusCode, TraceFlags, trace as traceApi, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Registry } from 'prom-client';
import { LeanSpan } from '../tracing/lean-span';
import type { TakesLeanSpans } from '../tracing/provider';
import { hexBits, TailRules } from './decide';
import { SamplingMetrics, type EvictionReason, type SamplingReason } from './metrics';
import type { ResolvedTailSampling } from './options';

/** One trace waiting for its local root. */
interface OpenTrace {
  spans: ReadableSpan[];
  /** Date.now() when its first span ended (age eviction). */
  createdAt: number;
  /** A span of it ended in error (also one dropped over the per-trace limit: the error still counts). */
  error: boolean;
}

/** The buffer's own counters (exact, not sampled; what the bound tests assert on). */
export interface TailSamplerStats {
  /** Traces held now. */
  openTraces: number;
  /** Spans held now. */
  bufferedSpans: number;
  /** Most traces ever held at once. */
  peakOpenTraces: number;
  /** Most spans ever held at once. */
  peakBufferedSpans: number;
  /** Most spans ever held for one trace. */
  peakSpansInTrace: number;
  /** Traces decided, by reason (`sampled_out` = dropped by the rules). */
  decisions: Record<SamplingReason, number>;
  /** Traces decided before their root ended, by reason. */
  evicted: Record<EvictionReason, number>;
  /** Spans the sampler dropped for lack of room: over `maxSpansPerTrace`, or in an evicted trace it did not keep. */
  droppedSpans: number;
  /** Spans that ended after their trace was decided (exported if it was kept). */
  lateSpans: number;
}

/**
 * In-process tail sampling, a span processor in front of the export stage (exporters, trace
 * printer, LLM log lines). `onStart` passes straight through (exporters such as Langfuse's set
 * attributes then); ended spans are held per trace until the trace's local root span ends (a
 * span without parent, or with a remote one), then the whole trace is kept (passed on) or
 * dropped, by {@link TailRules}.
 *
 * Bounded: at most `maxTraces` traces (when full, the oldest is decided early on what it holds),
 * `maxSpansPerTrace` spans per trace (further spans dropped and counted) and `maxAgeMs` per
 * trace (then decided early). A span ending after its trace was decided (a late span) follows
 * that decision (a late root of a trace dropped early may still keep itself). Spans the head sampler did not sample are ignored: a "drop"
 * propagated in `traceparent` is respected.
 *
 * Metric processors are not behind it: they hang off `llmscopeSpanProcessor` and see every span.
 *
 * When it is the only consumer of llmscope's spans, they reach it as {@link LeanSpan}s (no SDK
 * span object, no `onStart`): for a kept trace it has them materialised into SDK spans, which
 * the export stage gets `onStart` then `onEnd` for, when the trace is decided.
 */
export class TailSamplingProcessor implements SpanProcessor, TakesLeanSpans {
  readonly acceptsLean = true;
  readonly rules: TailRules;
  private readonly open = new Map<string, OpenTrace>();
  /**
   * Recently decided traces (kept or dropped), for late spans: a span is late however long after
   * its trace it ends, as long as the trace is among the last `max(maxTraces, 10000)` decided
   * (see {@link DecisionMemory}).
   */
  private readonly decided: DecisionMemory;
  /**
   * The same for the traces decided before their root ended (evicted), the only ones a root
   * without a parent can find decided: its trace id is new, so only its children's early decision
   * can precede it. Asked instead of {@link decided} for such roots (most traces, each a miss):
   * on a table of 10,000 trace ids that miss cost ~1.4 µs a request in the HTTP bench's profile,
   * cache misses that the in-process micro does not show.
   */
  private readonly decidedEarly: DecisionMemory;
  private readonly metrics: SamplingMetrics;
  private readonly counters: TailSamplerStats;
  private readonly sweeper: NodeJS.Timeout;
  private stopped = false;

  constructor(
    /** Where kept spans go (the export stage). */
    private readonly next: SpanProcessor,
    private readonly config: ResolvedTailSampling,
    registry: Registry | undefined,
  ) {
    this.rules = new TailRules(config);
    this.decided = new DecisionMemory(Math.max(config.maxTraces, 10000));
    this.decidedEarly = new DecisionMemory(Math.max(config.maxTraces, 10000));
    this.counters = {
      openTraces: 0, bufferedSpans: 0, peakOpenTraces: 0, peakBufferedSpans: 0, peakSpansInTrace: 0,
      decisions: { error: 0, slow: 0, route_latency: 0, priority: 0, base_rate: 0, sampled_out: 0 },
      evicted: { max_traces: 0, max_age: 0, shutdown: 0 },
      droppedSpans: 0, lateSpans: 0,
    };
    this.metrics = new SamplingMetrics(registry, this.counters, this.counters.decisions);
    // Age eviction (also when no span ends: an idle process still lets go of stuck traces).
    this.sweeper = setInterval(() => this.evictAged(Date.now()), Math.max(50, Math.min(5000, config.maxAgeMs / 4)));
    this.sweeper.unref();
  }

  /** A copy of the buffer's counters. */
  get stats(): TailSamplerStats {
    const c = this.counters;
    return { ...c, decisions: { ...c.decisions }, evicted: { ...c.evicted } };
  }

  onStart(span: Span, parentContext: Context): void {
    // An SDK span (another tracer's) under a lean one: its trace's decision must be remembered.
    const parent = traceApi.getSpan(parentContext);
    if (parent instanceof LeanSpan) parent.noteDescendant();
    this.next.onStart(span, parentContext);
  }

  /** A span started under a dropped single-span trace (see `LeanSpan.forgotten`): its decision is stored now. */
  rememberDropped(traceId: string): void {
    if (!this.stopped) this.decided.set(traceId, false);
  }

  onEnd(span: ReadableSpan): void {
    const sc = span.spanContext();
    // Not sampled by the head sampler (or recorded only for metrics): never exported.
    if (this.stopped || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return;
    const traceId = sc.traceId;
    const parent = span.parentSpanContext;
    // No trace held (single-span traces under load): no lookup of a new id string.
    const trace = this.open.size === 0 ? undefined : this.open.get(traceId);
    if (parent === undefined || parent.isRemote === true) {
      this.decideRoot(traceId, trace, span);
      return;
    }
    if (trace !== undefined) {
      this.hold(trace, span);
      return;
    }
    const now = Date.now();
    const prior = this.decided.get(traceId);
    if (prior !== undefined) {
      this.counters.lateSpans++;
      if (prior) this.forward(span);
      return;
    }
    this.openTrace(traceId, span, now);
  }

  private openTrace(traceId: string, span: ReadableSpan, now: number): void {
    // Age eviction runs on the sweeper's timer only: walking the map here, per trace, would
    // cost as much as the deleted entries at its front.
    if (this.open.size >= this.config.maxTraces) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.evict(oldest, 'max_traces');
    }
    const c = this.counters;
    this.open.set(traceId, { spans: [span], createdAt: now, error: span.status.code === SpanStatusCode.ERROR });
    c.openTraces = this.open.size;
    if (c.openTraces > c.peakOpenTraces) c.peakOpenTraces = c.openTraces;
    c.bufferedSpans++;
    if (c.bufferedSpans > c.peakBufferedSpans) c.peakBufferedSpans = c.bufferedSpans;
    if (c.peakSpansInTrace < 1) c.peakSpansInTrace = 1;
  }

  private hold(trace: OpenTrace, span: ReadableSpan): void {
    const c = this.counters;
    if (span.status.code === SpanStatusCode.ERROR) trace.error = true;
    if (trace.spans.length >= this.config.maxSpansPerTrace) {
      c.droppedSpans++;
      this.metrics.droppedSpans(1);
      return;
    }
    trace.spans.push(span);
    if (trace.spans.length > c.peakSpansInTrace) c.peakSpansInTrace = trace.spans.length;
    c.bufferedSpans++;
    if (c.bufferedSpans > c.peakBufferedSpans) c.peakBufferedSpans = c.bufferedSpans;
  }

  private decideRoot(traceId: string, trace: OpenTrace | undefined, root: ReadableSpan): void {
    if (trace === undefined) {
      const prior = root.parentSpanContext === undefined ? this.decidedEarly.get(traceId) : this.decided.get(traceId);
      if (prior !== undefined) {
        // The root of a trace decided early (evicted), or a second local root of a decided trace.
        this.counters.lateSpans++;
        if (prior) {
          this.forward(root);
          return;
        }
        // Dropped early on partial information: the root alone may still be worth keeping
        // (slow, a priority tag). Counted only if it is, so a trace is counted dropped once.
        const reason = this.rules.decide(traceId, root, [root], false);
        if (reason !== 'sampled_out') this.finish(traceId, reason, [root]);
        return;
      }
      // A single-span trace (a request that made no span, a job's LLM call outside any request).
      const single = [root];
      this.finish(traceId, this.rules.decide(traceId, root, single, false), single);
      return;
    }
    this.release(traceId, trace);
    const spans = trace.spans;
    // The root is always kept with its trace, even past maxSpansPerTrace: it is what the rules read.
    spans.push(root);
    this.finish(traceId, this.rules.decide(traceId, root, spans, trace.error), spans);
  }

  private finish(traceId: string, reason: SamplingReason, spans: readonly ReadableSpan[]): void {
    // Also what llmscope_sampling_traces_total reads at scrape time.
    this.counters.decisions[reason]++;
    if (reason !== 'sampled_out') {
      this.forwardAll(spans);
      this.decided.set(traceId, true);
    } else if (!forgets(spans)) {
      this.decided.set(traceId, false);
    }
  }

  /** Decides `traceId` before its root ended, on the spans held. */
  private evict(traceId: string, why: EvictionReason): void {
    const trace = this.open.get(traceId);
    if (trace === undefined) return;
    this.release(traceId, trace);
    this.counters.evicted[why]++;
    this.metrics.evicted(why);
    const reason = this.rules.decide(traceId, undefined, trace.spans, trace.error);
    if (reason === 'sampled_out') {
      // Its root might have made it worth keeping (slow, a tag): lost for lack of room, so counted.
      this.counters.droppedSpans += trace.spans.length;
      this.metrics.droppedSpans(trace.spans.length);
    }
    this.finish(traceId, reason, trace.spans);
    this.decidedEarly.set(traceId, reason !== 'sampled_out');
  }

  private release(traceId: string, trace: OpenTrace): void {
    this.open.delete(traceId);
    this.counters.openTraces = this.open.size;
    this.counters.bufferedSpans -= trace.spans.length;
  }

  private evictAged(now: number): void {
    const limit = now - this.config.maxAgeMs;
    // Map order is insertion order, so the oldest traces come first.
    for (const [traceId, trace] of this.open) {
      if (trace.createdAt > limit) break;
      this.evict(traceId, 'max_age');
    }
  }

  private forward(span: ReadableSpan): void {
    try {
      if (span instanceof LeanSpan) span.forwardTo(this.next);
      else this.next.onEnd(span);
    } catch {
      // The export stage never throws into the span's end (and so into the app).
    }
  }

  /** Passes a kept trace on, its lean spans materialised (in one go: starts, then ends). */
  private forwardAll(spans: readonly ReadableSpan[]): void {
    for (const s of spans) {
      if (s instanceof LeanSpan) {
        s.owner.materialise(spans, this.next);
        return;
      }
    }
    for (const s of spans) this.forward(s);
  }

  /** Decides every trace still held (on what it holds) and passes the kept ones on. */
  drain(): void {
    for (const traceId of [...this.open.keys()]) this.evict(traceId, 'shutdown');
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  /** Stops holding spans: drains the buffer and detaches the metrics. Does not shut down the export stage. */
  close(): void {
    if (this.stopped) return;
    this.drain();
    this.stopped = true;
    clearInterval(this.sweeper);
    this.metrics.close();
  }

  /** Drains, then shuts the export stage down (the provider is shutting down). */
  async shutdown(): Promise<void> {
    this.close();
    await this.next.shutdown();
  }
}

/**
 * Whether a dropped trace's decision can go unstored, marking its root `forgotten`: a trace of one
 * lean span with a new trace id (no parent) and nothing started under it. No span can be late
 * for it unless one starts under it from now on, which stores the decision then
 * (`rememberDropped`). Most traces under load; the decision table's write is a cache miss each.
 */
function forgets(spans: readonly ReadableSpan[]): boolean {
  const root = spans.length === 1 ? spans[0] : undefined;
  if (!(root instanceof LeanSpan) || root.branched || root.parentSpanContext !== undefined) return false;
  root.forgotten = true;
  return true;
}

/** A 28-bit hash of any string (ids that are not hex: no OpenTelemetry id, but never trusted). */
function stringBits(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 0x0fffffff;
}

/**
 * Trace id → kept or dropped, remembering at least the last `perGeneration` decisions (up to
 * twice that many). Two generations: when the current table is full it becomes the previous one
 * and the previous is cleared for reuse (one table with the oldest deleted per decision cost a
 * delete and a set per trace).
 *
 * Keyed by small integers read from the trace id, not by the id strings: a map holding 10,000+
 * strings keeps every trace id alive long enough to be promoted to the old generation, and each
 * insertion costs a string hash and a write barrier (together ~1.2 µs a trace under HTTP load in
 * the profiles). An entry is 28 bits of the id's last 7 hex digits (its slot) and 28 more bits (the
 * 7 digits before them), with the decision as the sign of the second: two ids are one entry only
 * when all 56 bits agree. Ids that share the first 28 bits are two entries (by the birthday
 * bound, two of 10,000 random ids share them with a probability of ~17%: keying by 28 bits alone
 * lost the older decision).
 *
 * Each generation is one `Int32Array` of (key + 1, value) pairs, open addressing with linear
 * probing, at most half full: a decision is one or two cache lines written in place, where a
 * `Map.set` on 10,000 entries (0.7-0.9 µs a trace in the profiles under HTTP load) also grew
 * and rehashed the map, and left a map of 10,000 entries for the garbage collector every 10,000
 * traces. The tables are allocated when the first decision is stored.
 */
export class DecisionMemory {
  private current: Int32Array | undefined;
  private previous: Int32Array | undefined;
  /** Decisions in the current generation. */
  private count = 0;
  private readonly mask: number;

  constructor(private readonly perGeneration: number) {
    let slots = 1024;
    while (slots < perGeneration * 2) slots *= 2;
    this.mask = slots - 1;
  }

  /** Whether `traceId` was kept, or undefined when no decision is remembered. */
  get(traceId: string): boolean | undefined {
    // Nothing decided yet (the early table of a process that never evicted): no id to parse.
    if (this.current === undefined) return undefined;
    const { key, check } = keyOf(traceId);
    // An empty slot holds 0, never a decision (a check value is at least 1).
    let v = this.current[this.slotOf(this.current, key, check) + 1] as number;
    if (v === 0 && this.previous !== undefined) v = this.previous[this.slotOf(this.previous, key, check) + 1] as number;
    return v === 0 ? undefined : v > 0;
  }

  /** A trace decided again (a late root kept) is found in the current generation first. */
  set(traceId: string, kept: boolean): void {
    let table = this.current;
    if (table === undefined) {
      table = this.current = new Int32Array((this.mask + 1) * 2);
    } else if (this.count >= this.perGeneration) {
      const reuse = this.previous;
      this.previous = table;
      table = this.current = reuse === undefined ? new Int32Array((this.mask + 1) * 2) : reuse.fill(0);
      this.count = 0;
    }
    const { key, check } = keyOf(traceId);
    const at = this.slotOf(table, key, check);
    if (table[at] === 0) this.count++;
    table[at] = key + 1;
    table[at + 1] = kept ? check : -check;
  }

  /** Where the id's entry is in `table` (its index), or the empty slot where it goes: linear probing from its key. */
  private slotOf(table: Int32Array, key: number, check: number): number {
    const mask = this.mask;
    const stored = key + 1;
    for (let slot = key & mask; ; slot = (slot + 1) & mask) {
      const at = slot * 2;
      const k = table[at] as number;
      if (k === 0 || (k === stored && Math.abs(table[at + 1] as number) === check)) return at;
    }
  }
}

/** Reused by {@link keyOf}: no object per call. */
const KEY = { key: 0, check: 0 };

/** The map key of a trace id and its check value (at least 1, so that its sign can carry the decision). */
function keyOf(traceId: string): { key: number; check: number } {
  const end = traceId.length;
  let key = end >= 14 ? hexBits(traceId, end, 7) : -1;
  let check = key < 0 ? -1 : hexBits(traceId, end - 7, 7);
  if (key < 0 || check < 0) {
    key = stringBits(traceId, 0x811c9dc5);
    check = stringBits(traceId, 0x01000193);
  }
  KEY.key = key;
  KEY.check = check + 1;
  return KEY;
}
