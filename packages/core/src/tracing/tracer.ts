import {
  context as contextApi, INVALID_SPAN_CONTEXT, SamplingDecision, SpanKind, SpanStatusCode, trace, TraceFlags,
  type Attributes, type Context, type Span, type SpanContext, type SpanOptions, type Tracer,
} from '@opentelemetry/api';
import { isTracingSuppressed, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { type IdGenerator, type ReadableSpan, type SamplingResult, type SpanLimits, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PooledIdGenerator } from './ids';
import { LeanSpan, takesEndedSpans, type LeanSpanOwner, type LeanSpanSink } from './lean-span';
import { tracerSpanLimits } from './span-limits';
import type { LlmscopeSampler } from '../sampling/head';

/** Where the tracer reads whether anyone consumes llmscope's own spans (fields, read per span). */
export interface OwnSpanConsumers {
  /** Processors that read llmscope's own spans (0: no span object is worth building). */
  readonly ownSpanConsumers: number;
  /** Set when the only one is a tail sampler that takes lean spans: llmscope's spans are {@link LeanSpan}s then. */
  readonly leanSink: LeanSpanSink | undefined;
}

/**
 * The provider's id generator: random ids, except while a lean span is materialised, when the
 * SDK's tracer must give the SDK span the ids the lean span already has (and propagated).
 */
export class ReplayableIdGenerator implements IdGenerator {
  private readonly random = new PooledIdGenerator();
  /** The ids the next span gets (set around one `startSpan`, then cleared). */
  next: { traceId: string; spanId: string } | undefined;

  generateTraceId(): string {
    return this.next?.traceId ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    return this.next?.spanId ?? this.random.generateSpanId();
  }
}

/** What materialising lean spans needs from the provider llmscope registered. */
export interface ReplayHooks {
  readonly resource: Resource;
  readonly ids: ReplayableIdGenerator;
  /** Makes the head sampler answer `result` (the decision a lean span already took), or stops it. */
  replaySampling(result: SamplingResult | undefined): void;
  /** Sends the spans the provider starts and ends to `target` only (materialised spans), or stops it. */
  replayTo(target: SpanProcessor | undefined): void;
}

const NO_LINKS: never[] = [];
const NO_ATTRIBUTES = Object.freeze({});
/** A server span's options without attributes (an id-only request span: nothing reads them). */
const SERVER_SPAN: SpanOptions = Object.freeze({ kind: SpanKind.SERVER });

/**
 * The tracer llmscope starts its own spans with (requests, steps, LLM calls, outgoing calls,
 * evaluations) when it registered the tracer provider itself.
 *
 * While some processor consumes llmscope's spans (an exporter, the trace printer,
 * `tracing.spanProcessors`, the console, a test's in-memory exporter), it is the SDK's tracer.
 * While none does, it starts non-recording spans (`trace.wrapSpanContext`) that carry what a
 * real span would have: a fresh span id, the parent's trace id (or a fresh one for a root, an
 * incoming `traceparent` continued), the parent's `tracestate`, and the sampled flag the head
 * sampler gives. So `x-trace-id`, log lines, Sentry events, scores by trace id and `traceparent`
 * propagation are unchanged, and `trace.getActiveSpan()` still returns a span; only no SDK span
 * object (attributes, events, times, processor calls) is built that nobody would read.
 *
 * Under a recording span of another instrumentation on the same provider, spans are SDK spans
 * as well (the trace stays whole).
 *
 * The choice is one field read per span: consumers attach at start-up (or when the console
 * mounts), and spans started after that are full SDK spans again.
 */
export class LlmscopeTracer implements Tracer, LeanSpanOwner {
  private readonly ids = new PooledIdGenerator();
  readonly instrumentationScope: InstrumentationScope;
  readonly spanLimits: Readonly<SpanLimits>;
  readonly resource: Resource;

  constructor(
    /** The SDK tracer of the provider llmscope registered. */
    private readonly sdk: Tracer,
    private readonly consumers: OwnSpanConsumers,
    /** The provider's head sampler: the sampled flag of an id-only span is the one it would get. */
    private readonly sampler: LlmscopeSampler,
    private readonly replay: ReplayHooks,
    scope: InstrumentationScope,
  ) {
    // The SDK tracer's own scope object when it shows it (the same one its spans carry).
    this.instrumentationScope = (sdk as Partial<{ instrumentationScope: InstrumentationScope }>).instrumentationScope ?? scope;
    // The SDK tracer's own limits and resource object: a lean span exported as it is carries what
    // its SDK span would (the exporter groups spans by resource object).
    this.spanLimits = tracerSpanLimits(sdk);
    const resource = (sdk as Partial<{ _resource: Resource }>)._resource;
    this.resource = resource !== null && typeof resource === 'object' ? resource : replay.resource;
  }

  /** Whether anything reads llmscope's spans (otherwise {@link startSpan} gives id-only spans, whatever the options). */
  get records(): boolean {
    return this.consumers.ownSpanConsumers !== 0;
  }

  /**
   * {@link startSpan} for a request's server span (`Llmscope.startRequest`), with `attributes`
   * undefined when nothing reads the spans (see {@link records}: they are not built then). A lean
   * span takes `attributes` as its own (built for it, not copied) and starts at
   * `performanceStart`, the request's own `performance.now()` (one reading for the metrics and
   * the span).
   */
  startRequestSpan(name: string, parent: Context, performanceStart: number, attributes: Attributes | undefined): Span {
    const options = attributes === undefined ? SERVER_SPAN : { kind: SpanKind.SERVER, attributes };
    const consumers = this.consumers;
    const sink = consumers.leanSink;
    if (consumers.ownSpanConsumers !== 0 && sink !== undefined && sink.acceptsLean) return this.ownSpan(name, options, parent, sink, performanceStart);
    return this.startSpan(name, options, parent);
  }

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    const consumers = this.consumers;
    if (consumers.ownSpanConsumers === 0) return this.ownSpan(name, options, ctx ?? contextApi.active(), undefined);
    const sink = consumers.leanSink;
    if (sink === undefined || !sink.acceptsLean) return this.sdk.startSpan(name, options, ctx);
    return this.ownSpan(name, options, ctx ?? contextApi.active(), sink);
  }

  /**
   * What the SDK's tracer would return, minus the SDK span object: the same ids and flags, in a
   * non-recording span (`sink` undefined: nothing reads the spans), or in a {@link LeanSpan}
   * ending into `sink` (sampled spans under tail sampling; an unsampled one is not for the tail
   * sampler either).
   */
  private ownSpan(name: string, options: SpanOptions | undefined, ctx: Context, sink: LeanSpanSink | undefined, requestStart?: number): Span {
    let parentContext = ctx;
    if (options?.root === true) parentContext = trace.deleteSpan(parentContext);
    if (isTracingSuppressed(parentContext)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parentSpan = trace.getSpan(parentContext);
    // Under another instrumentation's recording span (llmscope's own do not record here, or are
    // lean), a real span: the trace stays whole, and the foreign GenAI processor sees an
    // llmscope call start inside a foreign span of the same call (counted once).
    if (parentSpan !== undefined && parentSpan.isRecording() && !(parentSpan instanceof LeanSpan)) return this.sdk.startSpan(name, options, ctx);
    const parent = parentSpan?.spanContext();
    let spanId: string;
    let traceId: string;
    let traceState: SpanContext['traceState'];
    let validParent: SpanContext | undefined;
    if (parent === undefined || !trace.isSpanContextValid(parent)) {
      traceId = this.ids.generateRootIds();
      spanId = this.ids.rootSpanId;
    } else {
      spanId = this.ids.generateSpanId();
      traceId = parent.traceId;
      traceState = parent.traceState;
      validParent = parent;
    }
    let traceFlags: number = TraceFlags.NONE;
    // The default head rules decide from the parent alone; other rules ask the sampler.
    const byParent = this.sampler.sampledByParent(validParent);
    if (byParent === true) traceFlags = TraceFlags.SAMPLED;
    else if (byParent === undefined) {
      try {
        const result = this.sampler.shouldSample(parentContext, traceId, name, options?.kind ?? SpanKind.INTERNAL, options?.attributes ?? NO_ATTRIBUTES, NO_LINKS);
        if (result.decision === SamplingDecision.RECORD_AND_SAMPLED) traceFlags = TraceFlags.SAMPLED;
        if (result.traceState !== undefined) traceState = result.traceState;
      } catch {
        // A sampler never fails a request: the span is simply not sampled.
      }
    }
    const spanContext: SpanContext = traceState === undefined ? { traceId, spanId, traceFlags } : { traceId, spanId, traceFlags, traceState };
    if (sink === undefined || traceFlags !== TraceFlags.SAMPLED) return trace.wrapSpanContext(spanContext);
    return new LeanSpan(name, options?.kind ?? SpanKind.INTERNAL, spanContext, validParent, parentContext, options?.attributes, options?.links, options?.startTime, sink, this, parentSpan instanceof LeanSpan ? parentSpan : undefined, requestStart);
  }

  materialise(spans: readonly ReadableSpan[], target: SpanProcessor): void {
    if (takesEndedSpans(target)) {
      // Every processor there reads ended spans only (llmscope's exporters): the lean spans go as
      // they are, sealed with the SDK's rules, and no SDK span is rebuilt.
      for (const s of spans) {
        try {
          if (s instanceof LeanSpan) s.seal();
          target.onEnd(s);
        } catch {
          // The export stage never throws into the span's end (and so into the app).
        }
      }
      return;
    }
    const lean: LeanSpan[] = [];
    for (const s of spans) if (s instanceof LeanSpan) lean.push(s);
    // onStart in start order: the trace printer orders siblings by it.
    lean.sort((a, b) => a.sequence - b.sequence);
    const built = new Map<LeanSpan, Span>();
    const replay = this.replay;
    replay.replayTo(target);
    try {
      for (const s of lean) {
        try {
          built.set(s, this.start(s));
        } catch {
          // One span that cannot be rebuilt does not cost the others.
        }
      }
      for (const s of spans) {
        try {
          if (s instanceof LeanSpan) this.finish(s, built.get(s));
          else target.onEnd(s);
        } catch {
          // Same: the export stage never throws into the span's end (and so into the app).
        }
      }
    } finally {
      replay.replayTo(undefined);
    }
  }

  /** The SDK span of `lean`, started: its ids, start time, final name, attributes and links. */
  private start(lean: LeanSpan): Span {
    const replay = this.replay;
    const sc = lean.spanContext();
    replay.ids.next = { traceId: sc.traceId, spanId: sc.spanId };
    replay.replaySampling(sc.traceState === undefined ? { decision: SamplingDecision.RECORD_AND_SAMPLED } : { decision: SamplingDecision.RECORD_AND_SAMPLED, traceState: sc.traceState });
    try {
      return this.sdk.startSpan(lean.name, { kind: lean.kind, attributes: lean.attributes, links: lean.links, startTime: lean.startTime }, lean.parentContext);
    } finally {
      replay.ids.next = undefined;
      replay.replaySampling(undefined);
    }
  }

  /** Adds what `lean` recorded after its start (events, status) to its SDK span and ends it. */
  private finish(lean: LeanSpan, span: Span | undefined): void {
    if (span === undefined) return;
    for (const e of lean.events) span.addEvent(e.name, e.attributes, e.time);
    if (lean.status.code !== SpanStatusCode.UNSET) span.setStatus(lean.status);
    span.end(lean.endTime);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a?: SpanOptions | F, b?: Context | F, c?: F): ReturnType<F> {
    let options: SpanOptions | undefined;
    let ctx: Context | undefined;
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof b === 'function') {
      options = a;
      fn = b;
    } else {
      options = a;
      ctx = b;
      fn = c as F;
    }
    const parent = ctx ?? contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}
