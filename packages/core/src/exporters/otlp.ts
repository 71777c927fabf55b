import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../logging/redact';
import type { TelemetryHealth } from './health';
import type { ResolvedExporters } from './options';
import { BoundedExportProcessor, type QueueLimits } from './queue';
import { redactSpan } from './span-view';

/**
 * The OTLP/HTTP exporter (protobuf or JSON bodies, per `config.protocol`) behind a bounded queue,
 * redacting at export time. Both OpenTelemetry packages share one HTTP transport
 * (`@opentelemetry/otlp-exporter-base`): URL, headers, timeout and retries behave the same; only
 * the serializer and the Content-Type differ.
 */
export function createOtlpProcessor(config: NonNullable<ResolvedExporters['otlp']>, limits: QueueLimits, health: TelemetryHealth, redactor: Redactor): BoundedExportProcessor {
  const settings = { url: config.url, headers: config.headers, timeoutMillis: limits.exportTimeoutMs };
  const exporter: SpanExporter = config.protocol === 'http/json' ? new OtlpJsonExporter(settings) : new OtlpProtobufExporter(settings);
  return new BoundedExportProcessor('otlp', exporter, health, limits, (span) => redactSpan(span, redactor));
}
