import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../logging/redact';
import type { TelemetryHealth } from './health';
import type { ResolvedExporters } from './options';
import { BoundedExportProcessor, type QueueLimits } from './queue';
import { redactSpan } from './span-view';

/**
 * A span as the OTLP serializers read it, copied into one fixed-shape object. The redacted views
 * inherit from the SDK span (span-view.ts); the protobuf serializer's reads through that chain
 * cost more than the copy (22 instead of 26 µs per span, copy included; the JSON serializer gains
 * nothing, so JSON gets the views: bench/src/micro.ts, docs/exporters.md). Every field the
 * serializers read is copied as is: the exported data is the same.
 */
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

/**
 * The OTLP/HTTP exporter (protobuf or JSON bodies, per `config.protocol`) behind a bounded queue,
 * redacting at export time. Both OpenTelemetry packages share one HTTP transport
 * (`@opentelemetry/otlp-exporter-base`): URL, headers, timeout and retries behave the same; only
 * the serializer and the Content-Type differ.
 */
export function createOtlpProcessor(config: NonNullable<ResolvedExporters['otlp']>, limits: QueueLimits, health: TelemetryHealth, redactor: Redactor): BoundedExportProcessor {
  const settings = { url: config.url, headers: config.headers, timeoutMillis: limits.exportTimeoutMs };
  const exporter: SpanExporter = config.protocol === 'http/json' ? new OtlpJsonExporter(settings) : new OtlpProtobufExporter(settings);
  return new BoundedExportProcessor('otlp', exporter, health, limits, config.protocol === 'http/json' ? (span) => redactSpan(span, redactor) : (span) => new FlatSpan(redactSpan(span, redactor)));
}
