import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Redactor } from '../logging/redact';
import type { TelemetryHealth } from './health';
import type { ResolvedExporters } from './options';
import { BoundedExportProcessor, type QueueLimits } from './queue';
import { redactSpan } from './span-view';

/** The OTLP/HTTP exporter (JSON encoding) behind a bounded queue, redacting at export time. */
export function createOtlpProcessor(config: NonNullable<ResolvedExporters['otlp']>, limits: QueueLimits, health: TelemetryHealth, redactor: Redactor): BoundedExportProcessor {
  const exporter = new OTLPTraceExporter({ url: config.url, headers: config.headers, timeoutMillis: limits.exportTimeoutMs });
  return new BoundedExportProcessor('otlp', exporter, health, limits, (span) => redactSpan(span, redactor));
}
