import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TelemetryHealth } from './health';
import { untraced } from '../tracing/untraced';
import type { TakesEndedSpans } from '../tracing/lean-span';

/**
 * Bounds of an exporter's queue. Each is the option, else OpenTelemetry's batch span processor
 * variable named here (a positive integer; anything else fails at start-up), else the default.
 */
export interface QueueLimits {
  /** Most spans waiting; further spans are dropped (and counted). `OTEL_BSP_MAX_QUEUE_SIZE`, default 2048. */
  maxQueueSize: number;
  /** Most spans in one export request, at most `maxQueueSize` (unset, it shrinks to a smaller queue). `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512. */
  maxBatchSize: number;
  /** How long a span may wait before its batch is sent, ms. `OTEL_BSP_SCHEDULE_DELAY`, default 1000 (OpenTelemetry's is 5000). */
  scheduledDelayMs: number;
  /** An export that has not answered by then counts as failed, ms. `OTEL_BSP_EXPORT_TIMEOUT`, default 10000 (OpenTelemetry's is 30000). */
  exportTimeoutMs: number;
}

// One shared error object: a full queue is reported without allocating per dropped span.
const QUEUE_FULL = new Error('queue full: the backend is slower than the span rate (or not answering)');

/** What an exporter packs waiting spans into: anything that says how many spans it holds. */
export interface PackedSpans {
  readonly count: number;
}

/**
 * An exporter that takes spans packed while they wait for their batch (OTLP/protobuf: encoded
 * as soon as a chunk of them has ended). Spans that wait for a batch as objects live long enough
 * to be copied by young-generation collections and promoted; packed, only their bytes wait.
 */
export interface PackingExporter<P extends PackedSpans = PackedSpans> extends SpanExporter {
  /** `spans` packed (called off the request path, with up to {@link PACK_CHUNK} spans). */
  pack(spans: readonly ReadableSpan[]): P;
  /** Exports chunks `pack` made, in order. */
  exportPacked(chunks: readonly P[], done: (result: ExportResult) => void): void;
}

/**
 * Spans packed together (at most): small enough that few wait as objects, large enough to pack
 * warm. A queue's chunk is cut so that whole chunks fill its batches (512: 64).
 */
export const PACK_CHUNK = 64;

function isPacking(exporter: SpanExporter): exporter is PackingExporter {
  return typeof (exporter as Partial<PackingExporter>).pack === 'function' && typeof (exporter as Partial<PackingExporter>).exportPacked === 'function';
}

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
  /** Spans waiting as objects (with a packing exporter: until a chunk of them is packed). */
  private queue: ReadableSpan[] = [];
  /** With a packing exporter: chunks packed, oldest first, and how many spans they hold. */
  private packed: PackedSpans[] = [];
  private packedCount = 0;
  private readonly packer: PackingExporter | undefined;
  /** Spans a chunk holds: the batch size divided evenly, at most {@link PACK_CHUNK}. */
  private readonly chunk: number;
  private packScheduled = false;
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
  ) {
    this.packer = isPacking(exporter) ? exporter : undefined;
    const batch = Math.max(1, limits.maxBatchSize);
    this.chunk = Math.floor(batch / Math.ceil(batch / PACK_CHUNK));
    // A packing exporter transforms as it packs; a transform here would run after it.
    if (this.packer !== undefined && transform !== IDENTITY) throw new Error(`llmscope: the ${name} exporter packs spans itself; it takes no transform`);
  }

  /** Spans waiting to be exported. */
  get queued(): number {
    return this.queue.length + this.packedCount;
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
    if (this.queued >= this.limits.maxQueueSize) {
      this.health.dropped(this.name, 1);
      this.health.failed(this.name, QUEUE_FULL);
      return;
    }
    this.queue.push(span);
    if (this.packer !== undefined && this.queue.length >= this.chunk && !this.packScheduled) {
      // Off the request path: after the I/O callbacks of this turn of the event loop.
      this.packScheduled = true;
      setImmediate(this.packLater);
    }
    if (this.inFlight !== undefined) return;
    if (this.queued >= this.limits.maxBatchSize) this.schedule(0);
    else if (this.timer === undefined) this.schedule(this.limits.scheduledDelayMs);
  }

  private readonly packLater = (): void => {
    this.packScheduled = false;
    this.packWaiting();
  };

  /** Packs every span still waiting as an object, in chunks of up to {@link chunk}. */
  private packWaiting(): void {
    const packer = this.packer;
    if (packer === undefined || this.queue.length === 0) return;
    const spans = this.queue;
    this.queue = [];
    const size = this.chunk;
    for (let i = 0; i < spans.length; i += size) {
      const chunk = spans.length <= size ? spans : spans.slice(i, i + size);
      try {
        const packed = packer.pack(chunk);
        this.packed.push(packed);
        this.packedCount += packed.count;
      } catch (error) {
        // A span the exporter cannot encode costs its chunk, not the batch.
        this.health.dropped(this.name, chunk.length);
        this.health.failed(this.name, error);
      }
    }
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
    if (this.packer !== undefined) this.packWaiting();
    if (this.queued === 0) return Promise.resolve();
    let sent: Promise<void>;
    if (this.packer === undefined) {
      const batch = this.queue.splice(0, this.limits.maxBatchSize);
      this.inFlightSpans = batch.length;
      sent = this.exportBatch(batch);
    } else {
      // Whole chunks, up to the batch size (at least one).
      let n = (this.packed[0] as PackedSpans).count;
      let end = 1;
      for (let next = this.packed[end]; next !== undefined && n + next.count <= this.limits.maxBatchSize; next = this.packed[++end]) n += next.count;
      this.packedCount -= n;
      this.inFlightSpans = n;
      sent = this.exportChunks(this.packer, this.packed.splice(0, end), n);
    }
    const done = sent.finally(() => {
      this.inFlight = undefined;
      this.inFlightSpans = 0;
      const left = this.queued;
      if (left > 0 && !this.stopped) this.schedule(left >= this.limits.maxBatchSize ? 0 : this.limits.scheduledDelayMs);
    });
    this.inFlight = done;
    return done;
  }

  private exportBatch(batch: ReadableSpan[]): Promise<void> {
    let spans: ReadableSpan[];
    try {
      spans = this.transform === IDENTITY ? batch : batch.map(this.transform);
    } catch (error) {
      this.health.dropped(this.name, batch.length);
      this.health.failed(this.name, error);
      return Promise.resolve();
    }
    return this.send(spans.length, (done) => this.exporter.export(spans, done));
  }

  /** A method of its own: a closure in `exportNext` naming the chunks would share its context with the `finally` callback, which lives until the export is done. */
  private exportChunks(packer: PackingExporter, chunks: PackedSpans[], count: number): Promise<void> {
    return this.send(count, (done) => packer.exportPacked(chunks, done));
  }

  /**
   * Runs one export (`call`, the only thing that names the batch), bounded by the timeout, and
   * counts its spans as dropped if it fails. `call` is held in a slot cleared once it has run, and
   * no closure here names it: the batch is garbage once the exporter has encoded it, not held, and
   * copied by every scavenge, while the request is in flight.
   */
  private send(count: number, call: (done: (result: ExportResult) => void) => void): Promise<void> {
    let pending: typeof call | undefined = call;
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
          const run = pending;
          pending = undefined;
          run?.(finish);
        });
      } catch (error) {
        pending = undefined;
        finish({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      }
    }).then((result) => {
      if (result.code !== ExportResultCode.SUCCESS && !this.abandoned) {
        this.health.dropped(this.name, count);
        this.health.failed(this.name, result.error ?? new Error('export failed'));
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
    while (this.queued > 0) await this.exportNext();
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
    const lost = this.queued + this.inFlightSpans;
    this.queue = [];
    this.packed = [];
    this.packedCount = 0;
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
