/**
 * The OTLP/protobuf export cost per span (issue 17 item 4), before and after the direct encoder
 * (packages/core/src/exporters/otlp-encode.ts), in one process so that both face the same load:
 *
 * - `encoding`: CPU µs per span to turn batches of 512 recorded spans into request bodies, as the
 *   exporter does before it sends them. `official`: the path this replaced (each span redacted into
 *   a view, exporters/span-view.ts, copied into a fixed-shape object, then `ProtobufTraceSerializer`
 *   of @opentelemetry/otlp-transformer); `direct`: the encoder, redacting as it writes. Also both
 *   with redaction off (`official-plain`, `direct-plain`): the encoding alone.
 * - `export`: CPU µs per span through the whole export path (bounded queue, redaction, encoding,
 *   HTTP to a local sink), 5000 spans a round: `official` (OTLPTraceExporter of
 *   @opentelemetry/exporter-trace-otlp-proto on the copies, as exporters/otlp.ts did) and `direct`
 *   (exporters/otlp.ts `createOtlpProcessor` now). Twice: with the sink in this process (its
 *   reading of the bodies counted too: `exportMicrosPerSpan`), and with the sink in a process of
 *   its own (`exportMicrosPerSpanSinkApart`: what the app's process pays, as in production).
 *
 * Medians of the rounds, the configurations alternating (order rotated each round). The spans are
 * those of 1000 typical request traces as llmscope records them (a request span, three RAG steps,
 * an LLM call). `npx tsx src/micro-otlp.ts` (BENCH_MICRO_ROUNDS: export rounds, default 15).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { Redactor } from '../../packages/core/src/logging/redact';
import { TelemetryHealth } from '../../packages/core/src/exporters/health';
import { OtlpSpanEncoder } from '../../packages/core/src/exporters/otlp-encode';
import { createOtlpProcessor } from '../../packages/core/src/exporters/otlp';
import { BoundedExportProcessor, DEFAULT_QUEUE_LIMITS, PACK_CHUNK } from '../../packages/core/src/exporters/queue';
import { redactSpan } from '../../packages/core/src/exporters/span-view';
import { startSink, startSinkProcess } from './sink';
import { ragTraces } from './rag-traces';

/** The fixed-shape copy of a redacted view that exporters/otlp.ts handed the official serializer before the direct encoder. */
class FlatSpan implements ReadableSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: ReadableSpan['attributes'];
  readonly links: Link[];
  readonly events: TimedEvent[];
  readonly duration: HrTime;
  readonly ended: boolean;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
  private readonly context: SpanContext;

  constructor(span: ReadableSpan) {
    this.name = span.name;
    this.kind = span.kind;
    this.parentSpanContext = span.parentSpanContext;
    this.startTime = span.startTime;
    this.endTime = span.endTime;
    this.status = span.status;
    this.attributes = span.attributes;
    this.links = span.links;
    this.events = span.events;
    this.duration = span.duration;
    this.ended = span.ended;
    this.resource = span.resource;
    this.instrumentationScope = span.instrumentationScope;
    this.droppedAttributesCount = span.droppedAttributesCount;
    this.droppedEventsCount = span.droppedEventsCount;
    this.droppedLinksCount = span.droppedLinksCount;
    this.context = span.spanContext();
  }

  spanContext(): SpanContext {
    return this.context;
  }
}

/** The spans of `requests` typical request traces (as bench/src/micro.ts records them). */
async function ragSpans(requests: number): Promise<ReadableSpan[]> {
  const spans: ReadableSpan[] = [];
  await ragTraces(requests, { otlp: false }, spans);
  return spans;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** CPU µs (user + system) that `fn` takes. CPU, not wall time: on a shared machine the process may be descheduled. */
async function cpuMicros(fn: () => unknown): Promise<number> {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

async function rotate<K extends string>(configs: Record<K, () => unknown>, rounds: number, warmup: number, per: number): Promise<Record<K, number>> {
  const names = Object.keys(configs) as K[];
  const runs = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds + warmup; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as K;
      const micros = await cpuMicros(configs[name]);
      if (round >= warmup) runs[name].push(micros / per);
    }
  }
  return Object.fromEntries(names.map((k) => [k, round1(median(runs[k]))])) as Record<K, number>;
}

async function encoding(spans: ReadableSpan[]): Promise<Record<string, number> & { bytesPerSpan: number }> {
  const batches = Array.from({ length: Math.ceil(spans.length / 512) }, (_, i) => spans.slice(i * 512, (i + 1) * 512));
  const redactor = new Redactor();
  const off = new Redactor(false);
  const direct = new OtlpSpanEncoder(redactor);
  const directPlain = new OtlpSpanEncoder(off);
  const result = await rotate({
    official: () => { for (const b of batches) ProtobufTraceSerializer.serializeRequest(b.map((s) => new FlatSpan(redactSpan(s, redactor)))); },
    direct: () => { for (const b of batches) direct.encode(b); },
    // As the queue does: chunks packed as the spans end, put together when the batch is sent.
    'direct-packed': () => {
      for (const b of batches) {
        const chunks = [];
        for (let i = 0; i < b.length; i += PACK_CHUNK) chunks.push(direct.pack(b.slice(i, i + PACK_CHUNK)));
        direct.body(chunks);
      }
    },
    'official-plain': () => { for (const b of batches) ProtobufTraceSerializer.serializeRequest(b); },
    'direct-plain': () => { for (const b of batches) directPlain.encode(b); },
  }, 21, 3, spans.length);
  const bytes = batches.reduce((n, b) => n + direct.encode(b).byteLength, 0);
  return { ...result, bytesPerSpan: Math.round(bytes / spans.length) };
}

/** The sink: in this process (its reading counted), or in a process of its own. */
async function sinkAt(apart: boolean): Promise<{ url: string; close: () => Promise<void>; received: () => number }> {
  if (apart) {
    const sink = await startSinkProcess();
    return { url: sink.url, received: () => Number.NaN, close: async () => sink.close() };
  }
  const sink = await startSink();
  return { url: sink.url, received: sink.received, close: () => new Promise((resolve) => sink.server.close(() => resolve())) };
}

async function exportCpu(spans: ReadableSpan[], rounds: number, apart: boolean): Promise<{ official: number; direct: number; received: number }> {
  const sink = await sinkAt(apart);
  const redactor = new Redactor();
  const health = new TelemetryHealth(undefined, () => undefined, 60_000);
  const limits = { ...DEFAULT_QUEUE_LIMITS, maxQueueSize: spans.length };
  // Each round builds its exporter (as an app does once), then exports every span and waits for the last answer.
  const run = (make: () => BoundedExportProcessor) => async (): Promise<void> => {
    const processor = make();
    for (const span of spans) processor.onEnd(span);
    await processor.shutdown();
  };
  const result = await rotate({
    official: run(() => new BoundedExportProcessor('otlp', new OTLPTraceExporter({ url: sink.url, timeoutMillis: limits.exportTimeoutMs }), health, limits, (span) => new FlatSpan(redactSpan(span, redactor)))),
    direct: run(() => createOtlpProcessor({ url: sink.url, protocol: 'http/protobuf', headers: {} }, limits, health, redactor)),
  }, rounds, 1, spans.length);
  await sink.close();
  if (health.droppedTotal('otlp') > 0) throw new Error(`${health.droppedTotal('otlp')} spans dropped: the figures would not be the cost of exporting them`);
  return { ...result, received: sink.received() };
}

async function main(): Promise<void> {
  const spans = await ragSpans(1000);
  const enc = await encoding(spans);
  const rounds = Number(process.env.BENCH_MICRO_ROUNDS ?? 15);
  const exp = await exportCpu(spans, rounds, false);
  const { official, direct } = await exportCpu(spans, rounds, true);
  process.stdout.write(JSON.stringify({ spans: spans.length, encodingMicrosPerSpan: enc, exportMicrosPerSpan: exp, exportMicrosPerSpanSinkApart: { official, direct } }) + '\n');
}

void main();
