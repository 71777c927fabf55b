import { AbstractHttpAdapter } from '@nestjs/core';

/** A request hook as Nest's adapters run them: `(request, response, done)`, sync or async. */
export type RequestHook = (this: unknown, request: unknown, response: unknown, done: (error?: unknown) => void) => unknown;

/** An adapter with Nest's instrumentation hook: Nest 11 added `setOnRequestHook()`; Nest 10's adapters (and types) have none. */
export type HookableAdapter = AbstractHttpAdapter & { setOnRequestHook(hook: Function): void };

/** Whether the adapter runs hooks given to `setOnRequestHook()` (the base class ignores them; Nest 10 has no such method). */
export function runsRequestHooks(adapter: AbstractHttpAdapter): boolean {
  const set = (adapter as Partial<HookableAdapter>).setOnRequestHook;
  return typeof set === 'function' && set !== (AbstractHttpAdapter.prototype as Partial<HookableAdapter>).setOnRequestHook;
}

/**
 * Makes `hook` the first thing that runs for every request (Nest 11+). Nest's Express and Fastify adapters
 * run the hook given to `setOnRequestHook()` (meant for instrumentation) before anything else:
 * their own request handling, CORS, body parsers, Nest middleware, guards. The adapter holds one
 * such hook, so a hook the app sets, before or after, is chained after llmscope's instead of
 * replacing it or being replaced.
 */
export function runFirst(adapter: AbstractHttpAdapter, hook: RequestHook): void {
  // Called where runsRequestHooks(adapter) holds.
  const hookable = adapter as HookableAdapter;
  // A hook set on the adapter before the application was created (Nest's adapters keep it in
  // `onRequestHook`) runs after llmscope's too.
  let next = (adapter as unknown as { onRequestHook?: RequestHook }).onRequestHook;
  hookable.setOnRequestHook(function llmscopeOnRequest(this: unknown, request: unknown, response: unknown, done: (error?: unknown) => void) {
    const then = next;
    if (then === undefined) return hook.call(this, request, response, done);
    return hook.call(this, request, response, (error?: unknown) => {
      if (error !== undefined && error !== null) return done(error);
      try {
        const result = then.call(this, request, response, done) as PromiseLike<unknown> | undefined;
        if (result !== undefined && result !== null && typeof result.then === 'function') result.then(() => done(), done);
      } catch (e) {
        done(e);
      }
    });
  });
  hookable.setOnRequestHook = (later: Function) => {
    next = later as RequestHook;
  };
}
