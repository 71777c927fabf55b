import { context, trace, SpanStatusCode, type Span } from '@opentelemetry/api';
import { settle } from '../context/settle';

/** The `error.type` of an error: its name, class, or `_OTHER`. */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? error.name : error.constructor.name;
  return '_OTHER';
}

/** Marks `span` failed with `error` (exception event, ERROR status, `error.type`). Never throws. */
export function failSpan(span: Span, error: unknown): void {
  try {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.setAttribute('error.type', errorType(error));
  } catch {
    // Recording must never replace the app's error with ours.
  }
}

/**
 * Runs `fn` with `span` active (when there is one) and calls `done` once, when `fn` returns or
 * throws, or when the promise it returned settles (see {@link settle}).
 */
export function runInSpan<T>(span: Span | undefined, fn: () => T, done: (error: unknown, value: unknown, failed: boolean) => void): T {
  return settle(span ? () => context.with(trace.setSpan(context.active(), span), fn) : fn, done);
}
