import { context, trace } from '@opentelemetry/api';
import { currentLlmCall, startLlmCall, type LlmCallOptions, type LlmCallState } from '../call';
import { isAsyncIterable, observeStream } from '../stream';
import { readResult } from '../usage';
import { admitLlmCall } from '../../budgets/admit';
import { BudgetExceededError } from '../../budgets/errors';

const WRAPPED = Symbol.for('llmscope.instrumented');

type Fn = (...args: unknown[]) => unknown;
/** A loosely typed SDK object (client, params, result). */
export type Obj = Record<string | symbol, unknown>;

/** `value[key]` when `value` is an object, else undefined: walks SDK clients without throwing. */
export function get(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Obj)[key] : undefined;
}

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === 'object';
}

/**
 * Counts HTTP attempts through the client's `fetch` (both SDKs call `this.fetch` once per
 * attempt, retries included): attempts − 1 are the retries. Patched once per client.
 */
export function countAttempts(client: Obj): void {
  const original = client.fetch;
  if (typeof original !== 'function' || (original as unknown as Obj)[WRAPPED]) return;
  const counted = function (this: unknown, ...args: unknown[]): unknown {
    currentLlmCall.getStore()?.attempt();
    return (original as Fn).apply(this, args);
  };
  (counted as unknown as Obj)[WRAPPED] = true;
  client.fetch = counted;
}

/**
 * Hooks an SDK `APIPromise` in place, keeping its identity and its helpers (`withResponse()`,
 * `asResponse()`): the request's failure ends the call as failed, and the parsed body (or the
 * stream) ends it, or starts observing the stream. Anything that is not an APIPromise is chained.
 *
 * The promises the SDK derives from it (`_thenUnwrap`, under `.parse()` and the stream helpers)
 * read its `parseResponse` in openai 6 and the Anthropic SDK; openai 7 gives each APIPromise its
 * own `_thenUnwrap`, closed over the unhooked parser, so the derived promise is hooked too. `seen`
 * is shared by a call's promises: the first to settle is the one read.
 */
function hookResult(result: unknown, call: LlmCallState, seen = { settled: false }): unknown {
  const onValue = (value: unknown): unknown => {
    if (seen.settled) return value;
    seen.settled = true;
    if (isAsyncIterable(value) && observeStream(value, call, call.runtime?.options.streamIdleTimeoutMs)) return value;
    call.applyResult(readResult(value));
    call.end(undefined, false);
    return value;
  };
  const onError = (error: unknown): never => {
    seen.settled = true;
    call.end(error, true);
    throw error;
  };
  if (isObject(result) && typeof result.parseResponse === 'function' && isObject(result.responsePromise) && typeof (result.responsePromise as Partial<Promise<unknown>>).then === 'function') {
    const parse = result.parseResponse as Fn;
    result.parseResponse = async (...args: unknown[]) => {
      let value: unknown;
      try {
        value = await parse(...args);
      } catch (error) {
        return onError(error);
      }
      return onValue(value);
    };
    const failed = (result.responsePromise as unknown as Promise<unknown>).then(undefined, onError);
    // Read by this promise's parse() when awaited; a promise only derived from (openai 7's
    // `_thenUnwrap`) never is, and its failure is the derived promise's to report.
    failed.catch(() => undefined);
    result.responsePromise = failed;
    const asResponse = result.asResponse;
    if (typeof asResponse === 'function') {
      // The raw Response alone: the SDK never parses the body, so the call ends here, without
      // usage (withResponse() parses first, and `parsedPromise` tells them apart, as the SDKs do).
      result.asResponse = function (this: unknown, ...args: unknown[]) {
        return (asResponse as (...a: unknown[]) => Promise<unknown>).apply(this, args).then((raw) => {
          if (result.parsedPromise === undefined) call.end(undefined, false);
          return raw;
        });
      };
    }
    const thenUnwrap = result._thenUnwrap;
    if (typeof thenUnwrap === 'function' && Object.prototype.hasOwnProperty.call(result, '_thenUnwrap')) {
      result._thenUnwrap = function (this: unknown, ...args: unknown[]) {
        return hookResult((thenUnwrap as Fn).apply(this, args), call, seen);
      };
    }
    return result;
  }
  if (isObject(result) && typeof (result as Partial<Promise<unknown>>).then === 'function') {
    return (result as unknown as Promise<unknown>).then(onValue, onError);
  }
  return onValue(result);
}

/**
 * Replaces `target[method]` (an SDK resource method such as `chat.completions.create`) with one
 * that traces each call as an LLM call described by `describe(params)`. The SDK's own spans and
 * HTTP spans become children of the LLM span. `prepare` may replace the params; `started` sees
 * the arguments once the call has started. Idempotent.
 */
export function wrapMethod(
  target: unknown,
  method: string,
  describe: (params: Obj) => LlmCallOptions,
  prepare?: (params: Obj) => Obj,
  started?: (args: unknown[], call: LlmCallState) => void,
): void {
  if (!isObject(target)) return;
  const original = target[method];
  if (typeof original !== 'function' || (original as unknown as Obj)[WRAPPED]) return;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const params = isObject(args[0]) ? args[0] : {};
    let call: LlmCallState;
    try {
      if (prepare !== undefined && isObject(args[0])) args[0] = prepare(params);
      const described = describe(params);
      // Inside traceLLM() for the same operation: one call, already traced by the outer one,
      // which reads this call's result and stream; only its attempts are counted here.
      const outer = currentLlmCall.getStore();
      if (outer !== undefined && !outer.ended && outer.operation === (described.operation ?? 'chat')) return (original as Fn).apply(this, args);
      // An exhausted budget rejects the call or switches its model before the SDK sends anything.
      const admitted = admitLlmCall(described);
      if (admitted.model !== described.model && isObject(args[0])) args[0] = { ...args[0], model: admitted.model };
      call = startLlmCall(admitted);
    } catch (error) {
      if (error instanceof BudgetExceededError) return Promise.reject(error);
      return (original as Fn).apply(this, args);
    }
    try {
      started?.(args, call);
    } catch {
      // Never fails the app's call.
    }
    const run = (): unknown => currentLlmCall.run(call, () => (original as Fn).apply(this, args));
    let result: unknown;
    try {
      result = call.span === undefined ? run() : context.with(trace.setSpan(context.active(), call.span), run);
    } catch (error) {
      call.end(error, true);
      throw error;
    }
    return hookResult(result, call);
  };
  (wrapped as unknown as Obj)[WRAPPED] = true;
  target[method] = wrapped;
}

/** A finite number or undefined. */
export function numberParam(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The model parameter of a request. */
export function modelParam(params: Obj): string {
  return typeof params.model === 'string' ? params.model : 'unknown';
}
