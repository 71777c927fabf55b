import { TraceFlags, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Registry } from 'prom-client';
import { FanoutSpanProcessor, llmscopeSpanProcessor, type TakesLeanSpans } from '../tracing/provider';
import { LeanSpan } from '../tracing/lean-span';
import { TreePrinterProcessor } from '../tracing/tree-printer';
import type { Redactor } from '../logging/redact';
import { llmscopeSampler } from './head';
import type { ResolvedSampling } from './options';
import { TailSamplingProcessor } from './tail';

/**
 * With tail sampling off: the export stage gets sampled spans only, as they end. When every
 * processor of the stage takes ended spans as they are (llmscope's own exporters), it is also
 * the only consumer of llmscope's spans that takes them lean: no SDK span is built for them,
 * and each one is sealed with the SDK's rules as it ends (LlmscopeTracer.materialise).
 */
class SampledOnly implements SpanProcessor, TakesLeanSpans {
  constructor(private readonly next: FanoutSpanProcessor) {}
  /** Read per span start: lean only while the stage takes ended spans (a printer or an app processor may join it). */
  get acceptsLean(): boolean {
    return this.next.takesEndedSpans;
  }
  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    // Spans recorded but not sampled (GenAI spans kept for metrics) are not for exporters.
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    // A lean span (only ever a sampled one) is sealed and passed on as it is, or, if a processor
    // that wants SDK spans joined the stage since it started, rebuilt as one.
    if (span instanceof LeanSpan) span.forwardTo(this.next);
    else this.next.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

let printer: TreePrinterProcessor | undefined;
/** The pipeline printing traces: one per process, or every trace would print once per instance. */
let printerOwner: SamplingPipeline | undefined;
/** The printing instance's redaction: user ids, span names and error messages are app text. */
let printRedactor: Redactor | undefined;

/**
 * One llmscope instance's path from finished spans to whatever leaves the process:
 * `llmscopeSpanProcessor` → tail sampler (or a sampled-only gate) → the export stage, a fan-out
 * holding the instance's exporters, the app's `tracing.spanProcessors`, the trace printer and the
 * LLM log processor. Metric processors stay on `llmscopeSpanProcessor`, before any sampling.
 * Nothing is attached when the stage is empty, so an app without exporters pays nothing per span.
 */
export class SamplingPipeline {
  /** Where exporters go: receives only the spans of kept traces. */
  readonly stage = new FanoutSpanProcessor();
  private entryPoint: SpanProcessor | undefined;
  private tailSampler: TailSamplingProcessor | undefined;

  constructor(private readonly config: ResolvedSampling, private readonly registry: Registry | undefined) {
    llmscopeSampler.configure(config.head);
  }

  /** The tail sampler, once attached with tail sampling on. */
  get tail(): TailSamplingProcessor | undefined {
    return this.tailSampler;
  }

  /**
   * Adds the process's trace printer to this stage, unless another live instance prints already.
   * What it prints goes through `redactor` (one pass over each trace's text, when it prints).
   */
  addPrinter(redactor?: Redactor): void {
    if (printerOwner !== undefined) return;
    printer ??= new TreePrinterProcessor((text) => process.stdout.write(printRedactor === undefined ? text : printRedactor.string(text)));
    printerOwner = this;
    printRedactor = redactor?.active === true ? redactor : undefined;
    this.stage.add(printer);
  }

  /** Connects the stage to `llmscopeSpanProcessor` (through the tail sampler), if it holds anything. */
  attach(): void {
    if (this.entryPoint !== undefined || this.stage.size === 0) return;
    const tail = this.config.tail;
    if (tail !== undefined) this.tailSampler = new TailSamplingProcessor(this.stage, tail, this.registry);
    this.entryPoint = this.tailSampler ?? new SampledOnly(this.stage);
    llmscopeSpanProcessor.add(this.entryPoint);
  }

  /**
   * Detaches: decides the traces still held (kept ones reach the exporters, which the caller
   * flushes and shuts down next) and hands the printer back.
   */
  close(): void {
    if (this.entryPoint !== undefined) llmscopeSpanProcessor.remove(this.entryPoint);
    this.tailSampler?.close();
    if (printerOwner === this && printer !== undefined) {
      this.stage.remove(printer);
      printerOwner = undefined;
      printRedactor = undefined;
    }
  }
}
