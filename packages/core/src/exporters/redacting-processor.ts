import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../logging/redact';
import { lazyRedactedSpan } from './span-view';

/**
 * Hands ended spans to the app's own processors (`tracing.spanProcessors`) redacted like the
 * built-in exporters get them: one lazily redacted view per span, shared by all of them (see
 * {@link lazyRedactedSpan}). `onStart` gets the live span, as OpenTelemetry requires (a processor
 * may set attributes on it); nothing captured by llmscope is on a span when it starts.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly processors: readonly SpanProcessor[], private readonly redactor: Redactor) {}

  onStart(span: Span, parentContext: Context): void {
    for (const p of this.processors) {
      try {
        p.onStart(span, parentContext);
      } catch {
        // An app processor that throws must not fail the request or starve the others.
      }
    }
  }

  onEnd(span: ReadableSpan): void {
    const view = lazyRedactedSpan(span, this.redactor);
    for (const p of this.processors) {
      try {
        p.onEnd(view);
      } catch {
        // Same.
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
