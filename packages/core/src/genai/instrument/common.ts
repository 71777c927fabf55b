import { context, trace } from '@opentelemetry/api';
import { currentLlmCall, startLlmCall, type LlmCallOptions, type LlmCallState } from '../call';
import { isAsyncIterable, observeStream } from '../stream';
import { readResult } from '../usage';

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
 */
function hookResult(result: unknown, call: LlmCallState): unknown {
  const onValue = (value: unknown): unknown => {
    if (isAsyncIterable(value) && observeStream(value, call, call.runtime?.options.streamIdleTimeoutMs)) return value;
    call.applyResult(readResult(value));
    call.end(undefined, false);
    return value;
  };
  const onError = (error: unknown): never => {
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
    result.responsePromise = (result.responsePromise as unknown as Promise<unknown>).then(undefined, onError);
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
 * HTTP spans become children of the LLM span. Idempotent.
 */
export function wrapMethod(target: unknown, method: string, describe: (params: Obj) => LlmCallOptions, prepare?: (params: Obj) => Obj): void {
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
      call = startLlmCall(described);
    } catch {
      return (original as Fn).apply(this, args);
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
