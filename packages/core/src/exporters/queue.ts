import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TelemetryHealth } from './health';
import { untraced } from '../tracing/untraced';
import type { TakesEndedSpans } from '../tracing/lean-span';

/** Bounds of an exporter's queue. */
export interface QueueLimits {
  /** Most spans waiting; further spans are dropped (and counted). Default 2048. */
  maxQueueSize: number;
  /** Most spans in one export request. Default 512. */
  maxBatchSize: number;
  /** How long a span may wait before its batch is sent, ms. Default 1000. */
  scheduledDelayMs: number;
  /** An export that has not answered by then counts as failed, ms. Default 10000. */
  exportTimeoutMs: number;
}

// One shared error object: a full queue is reported without allocating per dropped span.
const QUEUE_FULL = new Error('queue full: the backend is slower than the span rate (or not answering)');

/** The default transform: spans exported as they are (no copy of the batch). */
const IDENTITY = (span: ReadableSpan): ReadableSpan => span;

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxQueueSize: 2048, maxBatchSize: 512, scheduledDelayMs: 1000, exportTimeoutMs: 10000 };

/**
 * A batching span processor that can never hurt the app: `onEnd` only pushes to a bounded array
 * (O(1), no I/O, no promise); one export at a time runs off the request path, bounded by a
 * timeout; when the queue is full or an export fails, spans are dropped and counted in
 * `llmscope_telemetry_dropped_total{exporter}`, and the failure is logged at most once per
 * interval. `transform` (redaction, attribute mapping) runs at export time, not per request.
 */
export class BoundedExportProcessor implements SpanProcessor, TakesEndedSpans {
  /** Reads ended spans only (no `onStart`): a kept trace's lean spans reach it as they are. */
  readonly takesEndedSpans = true;
  private queue: ReadableSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** Spans in the export now in flight (counted as dropped if shutdown gives up on it). */
  private inFlightSpans = 0;
  private stopped = false;
  /** Shutdown gave up waiting: what was left is already counted as dropped. */
  private abandoned = false;

  constructor(
    /** Exporter label (`otlp`, `langfuse`, ...). */
    readonly name: string,
    private readonly exporter: SpanExporter,
    private readonly health: TelemetryHealth,
    private readonly limits: QueueLimits = DEFAULT_QUEUE_LIMITS,
    private readonly transform: (span: ReadableSpan) => ReadableSpan = IDENTITY,
  ) {}

  /** Spans waiting to be exported. */
  get queued(): number {
    return this.queue.length;
  }

  onStart(_span: Span, _parentContext: Context): void {
    // Nothing to do when a span starts: all the work happens at export time.
  }

  onEnd(span: ReadableSpan): void {
    if (this.stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    this.enqueue(span);
  }

  /** Adds an already-ended span (used by processors that feed this one, such as Langfuse's). */
  enqueue(span: ReadableSpan): void {
    if (this.queue.length >= this.limits.maxQueueSize) {
      this.health.dropped(this.name, 1);
      this.health.failed(this.name, QUEUE_FULL);
      return;
    }
    this.queue.push(span);
    if (this.inFlight !== undefined) return;
    if (this.queue.length >= this.limits.maxBatchSize) this.schedule(0);
    else if (this.timer === undefined) this.schedule(this.limits.scheduledDelayMs);
  }

  private schedule(delay: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exportNext();
    }, delay);
    // A pending export must not keep the process alive: shutdown() is what flushes.
    this.timer.unref();
  }

  /** Exports one batch (if none is in flight); resolves when it is done. Never rejects. */
  private exportNext(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.splice(0, this.limits.maxBatchSize);
    this.inFlightSpans = batch.length;
    const done = this.exportBatch(batch).finally(() => {
      this.inFlight = undefined;
      this.inFlightSpans = 0;
      if (this.queue.length > 0 && !this.stopped) this.schedule(this.queue.length >= this.limits.maxBatchSize ? 0 : this.limits.scheduledDelayMs);
    });
    this.inFlight = done;
    return done;
  }

  private exportBatch(batch: ReadableSpan[]): Promise<void> {
    // Only the count outlives the call to the exporter (no closure names the spans): they are
    // garbage once the exporter has encoded them, not held, and copied by every scavenge, while
    // the request is in flight.
    const count = batch.length;
    let spans: ReadableSpan[];
    try {
      spans = this.transform === IDENTITY ? batch : batch.map(this.transform);
    } catch (error) {
      this.health.dropped(this.name, count);
      this.health.failed(this.name, error);
      return Promise.resolve();
    }
    return this.callExporter(spans).then((result) => {
      if (result.code !== ExportResultCode.SUCCESS && !this.abandoned) {
        this.health.dropped(this.name, count);
        this.health.failed(this.name, result.error ?? new Error('export failed'));
      }
    });
  }

  private callExporter(batch: ReadableSpan[]): Promise<ExportResult> {
    // Handed over through a slot the closures clear: a closure naming the parameter would keep the
    // batch alive in the closures' shared context for as long as the export runs.
    let pending: ReadableSpan[] | undefined = batch;
    return new Promise<ExportResult>((resolve) => {
      const timer = setTimeout(() => resolve({ code: ExportResultCode.FAILED, error: new Error(`export timed out after ${this.limits.exportTimeoutMs} ms`) }), this.limits.exportTimeoutMs);
      timer.unref();
      const finish = (result: ExportResult): void => {
        clearTimeout(timer);
        resolve(result);
      };
      try {
        // Outside the request whose span scheduled this export: not traced, no traceparent.
        untraced(() => {
          const spans = pending ?? [];
          pending = undefined;
          this.exporter.export(spans, finish);
        });
      } catch (error) {
        pending = undefined;
        finish({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
  }

  /** Exports everything queued now (each batch bounded by the export timeout). */
  async forceFlush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inFlight !== undefined) await this.inFlight;
    while (this.queue.length > 0) await this.exportNext();
  }

  /**
   * Shutdown ran out of time (a dead, black-holed or slow backend): the spans still queued and
   * the batch still in flight are counted as dropped now, so what a deploy lost is visible, and
   * spans ending afterwards are ignored. A late answer of the in-flight export is not counted twice.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.stopped = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const lost = this.queue.length + this.inFlightSpans;
    this.queue = [];
    if (lost > 0) this.health.dropped(this.name, lost);
  }

  /** Flushes, then shuts the exporter down. Spans ending afterwards are ignored. */
  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.stopped = true;
    try {
      await this.exporter.shutdown();
    } catch {
      // Nothing left to lose at this point.
    }
  }
}
