import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Context } from '@opentelemetry/api';
import { llmscopeSampler } from '../sampling/head';
import { resetContextCarrier } from '../context/context';
import { takesEndedSpans, type LeanSpanSink, type TakesEndedSpans } from './lean-span';
import { LlmscopeTracer, ReplayableIdGenerator, type ReplayHooks } from './tracer';

/** Instrumentation scope name of every span llmscope creates. */
export const TRACER_NAME = '@llmscope/core';
export const TRACER_VERSION = '0.1.0';

/** A span processor that ignores the spans of llmscope's own tracer (the foreign GenAI span reader). */
export interface SkipsOwnSpans {
  readonly skipsOwnSpans: true;
}

/**
 * A span processor that can take llmscope's spans as {@link LeanSpan}s when it is their only
 * consumer (the tail sampler; the sampled-only gate while its stage takes ended spans): one that
 * says, through `acceptsLean`, whether it takes them now.
 */
export type TakesLeanSpans = LeanSpanSink;

function takesLeanSpans(p: SpanProcessor): p is SpanProcessor & TakesLeanSpans {
  return typeof (p as Partial<TakesLeanSpans>).acceptsLean === 'boolean';
}

/**
 * One span processor that fans out to a list that can grow after the provider is built
 * (SDK 2 providers take their processors at construction). Exporters, the trace printer and,
 * later, the local console and the tail sampler all hang off it.
 */
export class FanoutSpanProcessor implements SpanProcessor, TakesEndedSpans {
  private processors: SpanProcessor[] = [];
  /**
   * How many of the processors read llmscope's own spans (all but those marked
   * {@link SkipsOwnSpans}). While 0, llmscope's tracer builds no span objects (see LlmscopeTracer).
   */
  ownSpanConsumers = 0;
  /** The only consumer of llmscope's spans, when it takes lean spans (see LlmscopeTracer). */
  leanSink: LeanSpanSink | undefined;
  /** Every processor that reads llmscope's spans takes ended spans as they are (and there is one). */
  takesEndedSpans = false;
  /** While lean spans are materialised: the one processor their SDK spans go to. */
  private replayTarget: SpanProcessor | undefined;

  /** Sends every span to `target` only, or (undefined) to the processors again. */
  replayTo(target: SpanProcessor | undefined): void {
    this.replayTarget = target;
  }

  add(processor: SpanProcessor): void {
    if (this.processors.includes(processor)) return;
    this.processors = [...this.processors, processor];
    this.count();
  }

  remove(processor: SpanProcessor): void {
    this.processors = this.processors.filter((p) => p !== processor);
    this.count();
  }

  private count(): void {
    const own = this.processors.filter((p) => (p as Partial<SkipsOwnSpans>).skipsOwnSpans !== true);
    this.ownSpanConsumers = own.length;
    const only = own[0];
    this.leanSink = own.length === 1 && only !== undefined && takesLeanSpans(only) ? only : undefined;
    this.takesEndedSpans = own.length > 0 && own.every(takesEndedSpans);
  }

  get size(): number {
    return this.processors.length;
  }

  onStart(span: Span, parentContext: Context): void {
    if (probing) {
      // The start-up probe of providerFeedsLlmscope(): seen, and kept from every consumer.
      probeReached = true;
      return;
    }
    const target = this.replayTarget;
    if (target !== undefined) {
      target.onStart(span, parentContext);
      return;
    }
    for (const p of this.processors) {
      try {
        p.onStart(span, parentContext);
      } catch {
        // A broken processor must not fail the request that started the span.
      }
    }
  }

  onEnd(span: ReadableSpan): void {
    const target = this.replayTarget;
    if (target !== undefined) {
      target.onEnd(span);
      return;
    }
    for (const p of this.processors) {
      try {
        p.onEnd(span);
      } catch {
        // Same: telemetry never throws into the app.
      }
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.allSettled(this.processors.map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.allSettled(this.processors.map((p) => p.shutdown()));
  }
}

/**
 * The process-wide processor llmscope feeds its exporters from. When the app registers its own
 * OpenTelemetry provider, it adds this processor to it so that llmscope's exporters and
 * printer see its spans: `new NodeTracerProvider({ spanProcessors: [llmscopeSpanProcessor] })`.
 */
export const llmscopeSpanProcessor = new FanoutSpanProcessor();

let probing = false;
let probeReached = false;

/**
 * Whether spans of the globally registered provider reach {@link llmscopeSpanProcessor}: starts
 * one probe span and sees whether the fan-out heard of it. `undefined` when the probe is not
 * recorded (the app's sampler dropped it), so nothing can be told. The probe is never ended, so
 * no exporter ever sees it.
 */
export function providerFeedsLlmscope(): boolean | undefined {
  probing = true;
  probeReached = false;
  try {
    const span = trace.getTracer(TRACER_NAME, TRACER_VERSION).startSpan('llmscope.probe', { root: true });
    return span.isRecording() ? probeReached : undefined;
  } catch {
    return undefined;
  } finally {
    probing = false;
  }
}

interface TracingState {
  /** True when llmscope registered the global provider (false: the app owns it). */
  ownsProvider: boolean;
  provider: BasicTracerProvider | undefined;
  /** What materialising lean spans needs (with llmscope's own provider). */
  replay?: ReplayHooks;
}

let state: TracingState | undefined;

/** Whether an OpenTelemetry tracer provider is registered globally (by anyone). */
function globalProviderRegistered(): boolean {
  // The API keeps its globals under this symbol; reading it has no side effect, whereas a
  // failed setGlobalTracerProvider logs a "duplicate registration" error.
  const major = 1;
  const globals = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[Symbol.for(`opentelemetry.js.api.${major}`)];
  return globals?.trace !== undefined;
}

/**
 * Makes sure a tracer provider exists. If the app registered one, llmscope uses it and replaces
 * nothing; otherwise llmscope registers a BasicTracerProvider with the AsyncLocalStorage context
 * manager, the W3C trace-context + baggage propagators and llmscope's head sampler, exporting
 * through {@link llmscopeSpanProcessor}.
 */
export function ensureTracing(serviceName: string | undefined): TracingState {
  if (state !== undefined) return state;
  if (globalProviderRegistered()) {
    state = { ownsProvider: false, provider: undefined };
    return state;
  }
  let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  if (serviceName !== undefined) resource = resource.merge(resourceFromAttributes({ 'service.name': serviceName }));
  // The head sampler follows `sampling.head` / OTEL_TRACES_SAMPLER*; an app's own provider keeps its own sampler.
  const ids = new ReplayableIdGenerator();
  const provider = new BasicTracerProvider({ resource, sampler: llmscopeSampler, idGenerator: ids, spanProcessors: [llmscopeSpanProcessor] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  resetContextCarrier();
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  const replay: ReplayHooks = {
    resource,
    ids,
    replaySampling: (result) => llmscopeSampler.replay(result),
    replayTo: (target) => llmscopeSpanProcessor.replayTo(target),
  };
  state = { ownsProvider: true, provider, replay };
  return state;
}

let ownTracer: { provider: BasicTracerProvider; tracer: Tracer } | undefined;

/**
 * The tracer llmscope creates its spans with: on the provider llmscope registered, an
 * {@link LlmscopeTracer} (no span objects while nothing consumes them); on the app's own
 * provider, that provider's tracer, used as is.
 */
export function getTracer(): Tracer {
  const provider = state?.provider;
  const replay = state?.replay;
  if (provider === undefined || replay === undefined) return trace.getTracer(TRACER_NAME, TRACER_VERSION);
  if (ownTracer?.provider !== provider) {
    const scope = { name: TRACER_NAME, version: TRACER_VERSION };
    ownTracer = { provider, tracer: new LlmscopeTracer(provider.getTracer(TRACER_NAME, TRACER_VERSION), llmscopeSpanProcessor, llmscopeSampler, replay, scope) };
  }
  return ownTracer.tracer;
}

/** Flushes every span processor llmscope feeds (and the provider it registered, if any). */
export async function flushTracing(): Promise<void> {
  if (state?.provider) await state.provider.forceFlush();
  else await llmscopeSpanProcessor.forceFlush();
}
