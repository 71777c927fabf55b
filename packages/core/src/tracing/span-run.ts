import { context, trace, SpanStatusCode, type Span } from '@opentelemetry/api';

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

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
 * Runs `fn` with `span` active and calls `done` once, when `fn` returns or throws, or when the
 * promise it returned settles. The value or error of `fn` passes through untouched: the same
 * promise object is not returned (a `then` is chained), but it resolves and rejects alike.
 */
export function runInSpan<T>(span: Span | undefined, fn: () => T, done: (error: unknown, value: unknown, failed: boolean) => void): T {
  let result: T;
  try {
    result = span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
  } catch (error) {
    done(error, undefined, true);
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        done(undefined, value, false);
        return value;
      },
      (error: unknown) => {
        done(error, undefined, true);
        throw error;
      },
    ) as T;
  }
  done(undefined, result, false);
  return result;
}
