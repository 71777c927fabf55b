import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPExporterBase, type OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import { inspect } from 'node:util';
import type { Redactor } from '../logging/redact';
import type { TelemetryHealth } from './health';
import type { ResolvedExporters } from './options';
import { BoundedExportProcessor, type PackingExporter, type QueueLimits } from './queue';
import { OtlpSpanEncoder, type EncodedSpans } from './otlp-encode';
import { redactSpan } from './span-view';

/**
 * One batch handed to the OTLP transport: chunks of spans already encoded (and redacted) as they
 * waited in the queue. The transport logs what it sends at OpenTelemetry's debug level: that log
 * shows the count, not the bytes.
 */
class SpanBatch {
  constructor(
    readonly chunks: readonly EncodedSpans[],
    readonly length: number,
  ) {}

  [inspect.custom](): string {
    return `[${this.length} spans, encoded]`;
  }

  toJSON(): string {
    return this[inspect.custom]();
  }
}

/**
 * The OTLP/HTTP protobuf exporter: the transport of `@opentelemetry/exporter-trace-otlp-proto`
 * (`@opentelemetry/otlp-exporter-base`, built as that package builds it: same URL, headers,
 * timeout, retries, compression and environment variables), with llmscope's encoder
 * (otlp-encode.ts) in place of `ProtobufTraceSerializer`: the same bytes, redacted as they are
 * written, without a view or a copy per span. The queue has spans packed (encoded) in chunks as
 * they wait for their batch, so that span objects do not outlive a young-generation collection.
 * Responses (partial success included) are read by the official deserializer.
 */
function protobufExporter(settings: OTLPExporterNodeConfigBase, redactor: Redactor): PackingExporter<EncodedSpans> {
  const encoder = new OtlpSpanEncoder(redactor);
  const serializer: ISerializer<SpanBatch, IExportTraceServiceResponse> = {
    serializeRequest: (batch) => encoder.body(batch.chunks),
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
  // `convertLegacyHttpOptions` is what OTLPTraceExporter itself calls (0.223): the same options and environment.
  const options = convertLegacyHttpOptions(settings, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  const base = new OTLPExporterBase<SpanBatch>(createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', { name: 'span', countItems: (batch) => batch.length }, undefined));
  return {
    pack: (spans) => encoder.pack(spans),
    exportPacked: (chunks, done) => base.export(new SpanBatch(chunks, countSpans(chunks)), done),
    export: (spans, done) => base.export(new SpanBatch([encoder.pack(spans)], spans.length), done),
    forceFlush: () => base.forceFlush(),
    shutdown: () => base.shutdown(),
  };
}

function countSpans(chunks: readonly EncodedSpans[]): number {
  let n = 0;
  for (const chunk of chunks) n += chunk.count;
  return n;
}

/**
 * The OTLP/HTTP exporter (protobuf or JSON bodies, per `config.protocol`) behind a bounded queue,
 * redacting at export time. Both OpenTelemetry packages share one HTTP transport
 * (`@opentelemetry/otlp-exporter-base`): URL, headers, timeout and retries behave the same; only
 * the serializer and the Content-Type differ.
 */
export function createOtlpProcessor(config: NonNullable<ResolvedExporters['otlp']>, limits: QueueLimits, health: TelemetryHealth, redactor: Redactor): BoundedExportProcessor {
  const settings = { url: config.url, headers: config.headers, timeoutMillis: limits.exportTimeoutMs };
  // JSON: the official exporter on redacted views. Protobuf: redacted by the encoder as it writes.
  if (config.protocol === 'http/json') return new BoundedExportProcessor('otlp', new OtlpJsonExporter(settings), health, limits, (span) => redactSpan(span, redactor));
  return new BoundedExportProcessor('otlp', protobufExporter(settings, redactor), health, limits);
}
