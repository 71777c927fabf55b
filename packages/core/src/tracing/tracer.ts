import {
  context as contextApi, INVALID_SPAN_CONTEXT, SamplingDecision, SpanKind, trace, TraceFlags,
  type Context, type Span, type SpanContext, type SpanOptions, type Tracer,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { RandomIdGenerator, type Sampler } from '@opentelemetry/sdk-trace-base';

/** Where the tracer reads whether anyone consumes llmscope's own spans (a field, read per span). */
export interface OwnSpanConsumers {
  /** Processors that read llmscope's own spans (0: no span object is worth building). */
  readonly ownSpanConsumers: number;
}

const NO_LINKS: never[] = [];
const NO_ATTRIBUTES = Object.freeze({});

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
export class LlmscopeTracer implements Tracer {
  private readonly ids = new RandomIdGenerator();

  constructor(
    /** The SDK tracer of the provider llmscope registered. */
    private readonly sdk: Tracer,
    private readonly consumers: OwnSpanConsumers,
    /** The provider's head sampler: the sampled flag of an id-only span is the one it would get. */
    private readonly sampler: Sampler,
  ) {}

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    if (this.consumers.ownSpanConsumers !== 0) return this.sdk.startSpan(name, options, ctx);
    return this.idOnlySpan(name, options, ctx ?? contextApi.active());
  }

  /** What the SDK's tracer would return, minus the span object: the same ids and flags. */
  private idOnlySpan(name: string, options: SpanOptions | undefined, ctx: Context): Span {
    let parentContext = ctx;
    if (options?.root === true) parentContext = trace.deleteSpan(parentContext);
    if (isTracingSuppressed(parentContext)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parentSpan = trace.getSpan(parentContext);
    // Under another instrumentation's recording span (llmscope's own do not record here), a real
    // span: the trace stays whole, and the foreign GenAI processor sees an llmscope call start
    // inside a foreign span of the same call (counted once).
    if (parentSpan !== undefined && parentSpan.isRecording()) return this.sdk.startSpan(name, options, ctx);
    const parent = parentSpan?.spanContext();
    const spanId = this.ids.generateSpanId();
    let traceId: string;
    let traceState: SpanContext['traceState'];
    if (parent === undefined || !trace.isSpanContextValid(parent)) {
      traceId = this.ids.generateTraceId();
    } else {
      traceId = parent.traceId;
      traceState = parent.traceState;
    }
    let traceFlags: number = TraceFlags.NONE;
    try {
      const result = this.sampler.shouldSample(parentContext, traceId, name, options?.kind ?? SpanKind.INTERNAL, options?.attributes ?? NO_ATTRIBUTES, NO_LINKS);
      if (result.decision === SamplingDecision.RECORD_AND_SAMPLED) traceFlags = TraceFlags.SAMPLED;
      if (result.traceState !== undefined) traceState = result.traceState;
    } catch {
      // A sampler never fails a request: the span is simply not sampled.
    }
    return trace.wrapSpanContext(traceState === undefined ? { traceId, spanId, traceFlags } : { traceId, spanId, traceFlags, traceState });
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
