/** Whether `value` is a thenable (a promise from any library). */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Runs `fn` and calls `done` once, when it returns or throws, or when the promise it returned
 * settles. The value or error of `fn` passes through untouched: the same promise object is not
 * returned (a `then` is chained), but it resolves and rejects alike.
 */
export function settle<T>(fn: () => T, done: (error: unknown, value: unknown, failed: boolean) => void): T {
  let result: T;
  try {
    result = fn();
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

/**
 * Waits for `work` to settle or `timeoutMs` to pass, whichever comes first; never rejects. The
 * timer does not keep the process alive.
 */
export async function settleWithin(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([work.then(() => undefined, () => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
