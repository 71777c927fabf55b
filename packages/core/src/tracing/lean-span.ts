import {
  ROOT_CONTEXT, SpanStatusCode, type Attributes, type AttributeValue, type Context, type Exception, type HrTime, type Link,
  type Span, type SpanContext, type SpanKind, type SpanStatus, type TimeInput,
} from '@opentelemetry/api';
import { addHrTimes, hrTime, hrTimeDuration, isTimeInput, isTimeInputHrTime, millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanLimits, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { applySpanLimits } from './span-limits';

/** Where a lean span goes when it ends: the tail sampler, llmscope's only consumer of its spans then. */
export interface LeanSpanSink {
  /** Read as each span starts: whether it may be lean now (false: the SDK's span, as for any consumer). */
  readonly acceptsLean: boolean;
  onEnd(span: ReadableSpan): void;
  /**
   * A span started in trace `traceId` after the sink dropped it without remembering the
   * decision (a lean root's `forgotten`): remember it now, for that span's end.
   */
  rememberDropped?(traceId: string): void;
}

/**
 * A span processor that needs no `onStart` and reads an ended span only through `ReadableSpan`
 * (llmscope's exporters): a lean span, sealed, is as good to it as the SDK's span, so a kept trace
 * reaches it without SDK spans being rebuilt. A fan-out is one when all its processors are.
 */
export interface TakesEndedSpans {
  readonly takesEndedSpans: boolean;
}

/** Whether `processor` takes ended spans as they are (see {@link TakesEndedSpans}). */
export function takesEndedSpans(processor: object): boolean {
  return (processor as Partial<TakesEndedSpans>).takesEndedSpans === true;
}

/** What lean spans share: the provider's resource and scope, and the way to real SDK spans. */
export interface LeanSpanOwner {
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  /** The span limits of the provider's tracer (applied when a lean span is exported as it is). */
  readonly spanLimits: Readonly<SpanLimits>;
  /**
   * Hands the spans of a kept trace to `target` as the SDK's own spans: every lean span among
   * them becomes an SDK span (same ids, times, attributes, events, status), `onStart` in the
   * order they started, then `onEnd` in the order given (SDK spans in the list are passed as they are).
   */
  materialise(spans: readonly ReadableSpan[], target: SpanProcessor): void;
}

const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

let sequence = 0;

/** Constant for the process (read through a getter on every call otherwise). */
const TIME_ORIGIN = performance.timeOrigin;

/** How long a measured wall-clock offset is used before it is measured again, ms. */
const OFFSET_TTL_MS = 1000;
let offset = 0;
/** The `performance.now()` at which {@link offset} was measured (-Infinity: never). */
let offsetTakenAt = Number.NEGATIVE_INFINITY;

/**
 * `Date.now()` minus the monotonic clock on the wall-clock scale (`timeOrigin + performance.now()`),
 * what the SDK's spans compute each as `_performanceOffset`: measured again when the last
 * measure is over {@link OFFSET_TTL_MS} older than `performanceNow` (or `performanceNow` is
 * before it), so it follows the wall clock's steps (NTP) within a second.
 */
function wallClockOffset(performanceNow: number): number {
  if (performanceNow - offsetTakenAt > OFFSET_TTL_MS || performanceNow < offsetTakenAt) {
    const monotonic = performance.now();
    offset = Date.now() - (monotonic + TIME_ORIGIN);
    offsetTakenAt = monotonic;
  }
  return offset;
}

/**
 * A recording span of llmscope's own tracer under tail sampling (when the tail sampler is the only
 * consumer of llmscope's spans, most traces are dropped, and a dropped trace should not pay for
 * SDK span objects). It implements the API's `Span` (for code calling `trace.getActiveSpan()`)
 * and the SDK's `ReadableSpan` (what the tail rules and a `priority.when` predicate read), and
 * records what the SDK's span would, taken the same way: times as the SDK takes them (wall clock
 * at start, monotonic clock after), attributes as set, events, links, status, name.
 *
 * What it skips is the SDK's per-span work that only matters for an exported span: attribute
 * sanitising, limits and truncation, the processor fan-out. All of it happens when the trace is
 * kept: {@link LeanSpanOwner.materialise} replays the span on the SDK's tracer, so exporters
 * get real SDK spans, with the provider's span limits applied.
 */
export class LeanSpan implements Span, ReadableSpan {
  name: string;
  status: SpanStatus = UNSET;
  attributes: Attributes;
  links: Link[] = NO_LINKS;
  events: TimedEvent[] = NO_EVENTS;
  ended = false;
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  /** {@link seal} ran: the span holds what the SDK's span would, limits applied. */
  sealed = false;
  /** Start order, process-wide (materialised spans start in this order). */
  readonly sequence = sequence++;
  /** The first lean span of its trace in this process: itself, or its lean parent's `localRoot`. */
  readonly localRoot: LeanSpan;
  /** On a local root: a span (lean or SDK) was started under it, so one may end after it. */
  branched = false;
  /**
   * On a local root without parent: its trace was dropped when it ended, and, no span having
   * been started under it, the sink did not store the decision (a table write per trace).
   * A span that starts under it later has the sink remember it then ({@link noteDescendant}).
   */
  forgotten = false;
  private readonly performanceStart: number;
  private readonly performanceOffset: number;
  /**
   * The times as the SDK's `HrTime`s, built when first read: most lean spans are dropped
   * unread, and the tail rules read the duration as {@link durationMs}.
   */
  private startHr: HrTime | undefined;
  private endHr: HrTime | undefined;
  private durationHr: HrTime | undefined;
  /** Start to end, ms; -1 until the span ends. */
  private elapsedMs = -1;
  private readonly startTimeProvided: boolean;

  constructor(
    name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    /**
     * The context the span started in (after `root: true`): materialising starts the SDK span in
     * it. Released (the root context) once the span is sealed for export.
     */
    public parentContext: Context,
    attributes: Attributes | undefined,
    links: Link[] | undefined,
    startTime: TimeInput | undefined,
    private readonly sink: LeanSpanSink,
    readonly owner: LeanSpanOwner,
    /** The span's parent when it is a lean span (what its `localRoot` comes from). */
    parentLean?: LeanSpan,
    /**
     * A request's server span: the request's `performance.now()` at its start, taken as the
     * span's (no second reading), and `attributes` built for the span, taken as they are.
     */
    requestStart?: number,
  ) {
    this.name = name;
    if (parentLean === undefined) {
      this.localRoot = this;
    } else {
      this.localRoot = parentLean.localRoot;
      parentLean.noteDescendant();
    }
    // The SDK's SpanImpl reads Date.now() for the start and performance.now() for what follows,
    // their difference correcting the monotonic clock's drift from the wall clock. That
    // difference is taken here at most once a second for every span (a clock reading is ~50 ns
    // on these machines): the start is the monotonic reading on the wall clock.
    const performanceStart = requestStart ?? performance.now();
    this.performanceStart = performanceStart;
    this.performanceOffset = wallClockOffset(performanceStart);
    this.startTimeProvided = startTime != null;
    if (startTime != null) this.startHr = this.time(startTime);
    if (requestStart !== undefined && attributes !== undefined) {
      this.attributes = attributes;
    } else {
      this.attributes = {};
      if (attributes !== undefined) this.setAttributes(attributes);
    }
    if (links !== undefined && links.length > 0) this.links = [...links];
  }

  get startTime(): HrTime {
    // The wall-clock start, epoch ms (fractional), when no start time was given.
    if (this.startHr === undefined) this.startHr = millisToHrTime(this.performanceStart + TIME_ORIGIN + this.performanceOffset);
    return this.startHr;
  }

  /** `[0, 0]` until the span ends, as the SDK's span. */
  get endTime(): HrTime {
    if (this.endHr === undefined) {
      if (this.elapsedMs < 0) return [0, 0];
      this.endHr = addHrTimes(this.startTime, this.duration);
    }
    return this.endHr;
  }

  /** `[-1, -1]` until the span ends, as the SDK's span. */
  get duration(): HrTime {
    if (this.durationHr === undefined) {
      if (this.elapsedMs < 0) return [-1, -1];
      const d = millisToHrTime(this.elapsedMs);
      // Rounding can give 1e9 ns: normalised, as hrTimeDuration's result would be.
      if (d[1] >= 1e9) {
        d[0] += 1;
        d[1] -= 1e9;
      }
      this.durationHr = d;
    }
    return this.durationHr;
  }

  /** Start to end in milliseconds (what the tail rules read); -1 until the span ends. */
  get durationMs(): number {
    return this.elapsedMs;
  }

  get resource(): Resource {
    return this.owner.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return this.owner.instrumentationScope;
  }

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    // Invalid keys and values are left to the SDK span a kept trace becomes (it drops them, as always).
    if (value != null && !this.ended) this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      if (Object.prototype.hasOwnProperty.call(attributes, key)) this.setAttribute(key, attributes[key]);
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
    } else {
      attributes = attributesOrTime;
    }
    if (this.events === NO_EVENTS) this.events = [];
    this.events.push({ name, attributes: attributes === undefined ? {} : { ...attributes }, time: this.time(time), droppedAttributesCount: 0 });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    if (this.links === NO_LINKS) this.links = [];
    this.links.push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    // The SDK's rules: UNSET changes nothing, OK is final, a message only with ERROR.
    if (this.ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    if (endTime === undefined && !this.startTimeProvided) {
      this.endAt(performance.now());
      return;
    }
    const start = this.startTime;
    let endHr = this.time(endTime);
    let duration = hrTimeDuration(start, endHr);
    if (duration[0] < 0) {
      endHr = [start[0], start[1]];
      duration = [0, 0];
    }
    this.endHr = endHr;
    this.durationHr = duration;
    this.elapsedMs = duration[0] * 1000 + duration[1] / 1e6;
    this.close();
  }

  /**
   * Ends the span now, `now` being a `performance.now()` reading the caller just took (a
   * request's end: one reading for its metrics and its span). The common end: start + the
   * monotonic time since, so the duration is that time itself (what hrTimeDuration of the two
   * gives), never negative.
   */
  endAt(now: number): void {
    if (this.ended) return;
    if (this.startTimeProvided) {
      this.end();
      return;
    }
    // The times themselves are built when read (see startHr).
    this.elapsedMs = Math.max(0, now - this.performanceStart);
    this.close();
  }

  /** Marks the span ended and hands it to its sink. */
  private close(): void {
    this.ended = true;
    try {
      this.sink.onEnd(this);
    } catch {
      // Telemetry never throws into the app's span end.
    }
  }

  /** A span (lean or SDK) starts under this one: its local root may no longer forget its trace's decision. */
  noteDescendant(): void {
    const root = this.localRoot;
    root.branched = true;
    if (!root.forgotten) return;
    root.forgotten = false;
    try {
      root.sink.rememberDropped?.(root.context.traceId);
    } catch {
      // Telemetry never throws into the app's span start.
    }
  }

  isRecording(): boolean {
    return !this.ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    // The SDK's exception event (semantic convention attributes).
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception) {
      if (exception.code) attributes['exception.type'] = exception.code.toString();
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] !== undefined || attributes['exception.message'] !== undefined) this.addEvent('exception', attributes, time);
  }

  /**
   * Makes the ended span what the SDK's span would have ended as (invalid attributes dropped, the
   * provider's span limits applied, see `applySpanLimits`), for an export stage that takes ended
   * spans as they are (no SDK span rebuilt). Idempotent; releases the start context.
   */
  seal(): void {
    if (this.sealed || !this.ended) return;
    const limited = applySpanLimits(this.attributes, this.events, this.links, this.owner.spanLimits);
    this.attributes = limited.attributes;
    this.droppedAttributesCount = limited.droppedAttributesCount;
    this.events = limited.events;
    this.droppedEventsCount = limited.droppedEventsCount;
    this.links = limited.links;
    this.droppedLinksCount = limited.droppedLinksCount;
    this.parentContext = ROOT_CONTEXT;
    this.sealed = true;
  }

  /**
   * Hands this ended span to `target`: sealed and as it is when `target` takes ended spans
   * (llmscope's exporters), otherwise rebuilt as an SDK span by its owner.
   */
  forwardTo(target: SpanProcessor): void {
    if (takesEndedSpans(target)) {
      this.seal();
      target.onEnd(this);
    } else {
      this.owner.materialise([this], target);
    }
  }

  /** A time as the SDK's span takes it (`SpanImpl._getTime`). */
  private time(input: TimeInput | undefined): HrTime {
    if (typeof input === 'number' && input <= performance.now()) return hrTime(input + this.performanceOffset);
    if (typeof input === 'number') return millisToHrTime(input);
    if (input instanceof Date) return millisToHrTime(input.getTime());
    if (isTimeInputHrTime(input)) return input;
    if (this.startTimeProvided) return millisToHrTime(Date.now());
    return addHrTimes(this.startTime, millisToHrTime(performance.now() - this.performanceStart));
  }
}
