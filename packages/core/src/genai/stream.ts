import type { LlmCallState } from './call';
import { ChunkReader } from './chunks';
import { GEN_AI } from './schema';

const DEFAULT_IDLE_MS = 600_000;

/** Whether `value` is an async iterable (a streamed answer: an SDK `Stream`, an async generator). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

/**
 * Observes a streamed answer without replacing it: the same object is handed back to the app,
 * with its iteration instrumented in place. The SDKs' `Stream` objects produce every iterator
 * (for-await, `tee()`, `toReadableStream()`) from their `iterator` property, so that is what is
 * wrapped when present; otherwise `[Symbol.asyncIterator]`.
 *
 * The call ends (once) when the stream is exhausted, throws, is left early (`break` calls the
 * iterator's `return()`), or yields nothing for `idleMs` (abandoned). Returns false when the
 * object cannot be patched (frozen), in which case the caller ends the call at once.
 */
export function observeStream(stream: AsyncIterable<unknown>, call: LlmCallState, idleMs = DEFAULT_IDLE_MS): boolean {
  const reader = new ChunkReader(call.runtime?.options.captureContent === true);
  let timer: NodeJS.Timeout | undefined;
  const finish = (error: unknown, failed: boolean, note?: 'cancelled' | 'abandoned'): void => {
    if (call.ended) return;
    if (timer !== undefined) clearTimeout(timer);
    call.applyResult({ usage: reader.usage, model: reader.model, id: reader.id, finishReasons: reader.finishReasons, text: reader.text });
    if (reader.usage?.outputTokens === undefined) call.estimateOutput(reader.characters);
    call.end(error, failed, note);
  };
  const wrap = (inner: AsyncIterator<unknown>): AsyncIterableIterator<unknown> => {
    const onChunk = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
      if (result.done) {
        finish(undefined, false);
        return result;
      }
      call.markFirstChunk();
      timer?.refresh();
      try {
        reader.read(result.value);
      } catch {
        // A chunk we do not understand is still the app's chunk.
      }
      return result;
    };
    const onError = (error: unknown): never => {
      finish(error, true);
      throw error;
    };
    const iterator: AsyncIterableIterator<unknown> = {
      next: (...args: [] | [unknown]) => inner.next(...args).then(onChunk, onError),
      return: (value?: unknown) => {
        finish(undefined, false, 'cancelled');
        return inner.return ? inner.return(value) : Promise.resolve({ done: true, value });
      },
      throw: (error?: unknown) => {
        finish(error, true);
        return inner.throw ? inner.throw(error) : Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  };
  const target = stream as unknown as Record<string | symbol, unknown>;
  try {
    const own = target.iterator;
    if (typeof own === 'function' && 'controller' in target) {
      target.iterator = function instrumentedIterator(this: unknown, ...args: unknown[]) {
        return wrap((own as (...a: unknown[]) => AsyncIterator<unknown>).apply(this, args));
      };
    } else {
      const original = target[Symbol.asyncIterator] as () => AsyncIterator<unknown>;
      Object.defineProperty(stream, Symbol.asyncIterator, {
        configurable: true,
        writable: true,
        value: function instrumentedAsyncIterator(this: unknown) {
          return wrap(original.call(this));
        },
      });
    }
  } catch {
    return false;
  }
  call.span?.setAttribute(GEN_AI.stream, true);
  timer = setTimeout(() => finish(undefined, false, 'abandoned'), idleMs);
  timer.unref();
  return true;
}
