import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/**
 * Runs `fn` outside any request and with tracing suppressed: what llmscope's own telemetry
 * traffic (span exports, Sentry events, Langfuse scores) is sent in. Its HTTP requests then get
 * no CLIENT span and no `traceparent`, from llmscope's outgoing hook or from an OpenTelemetry
 * HTTP instrumentation of the app; otherwise each export would be traced, and its span exported,
 * without end. Export timers inherit the context of the request that scheduled them, hence the
 * root context rather than the active one.
 */
export function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(ROOT_CONTEXT), fn);
}
