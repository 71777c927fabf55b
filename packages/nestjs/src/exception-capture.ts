// The one deep import: @nestjs/core does not export ExceptionsHandler. The file and its
// `next(exception, host)` are the same on Nest 10, 11 and 12 (10 and 11 have no `exports` map,
// 12's exports `./*.js`); the thrown-error tests of each major's Jest projects go through it.
import { ExceptionsHandler } from '@nestjs/core/exceptions/exceptions-handler.js';
import { getContext, Llmscope } from '@llmscope/core/adapter';

const PATCHED = Symbol.for('llmscope.nestjs.exceptionsHandlerPatched');

type Patchable = typeof ExceptionsHandler.prototype & { [PATCHED]?: true };

/**
 * Records, for the request lifecycle, every exception Nest's HTTP exception layer handles: those
 * thrown by handlers, pipes, interceptors, guards and Nest middleware. Nest answers them with a
 * filter, so they never reach the platform's error hooks the adapters listen to; the status is
 * still taken from the response. `ExceptionsHandler.next` is what every HTTP route's and
 * middleware's exception path calls, so it is wrapped once per process. A global interceptor
 * did the same job before, at ~30 µs of CPU per request (an RxJS pipe on every call); this
 * costs nothing until an exception is thrown.
 */
export function captureNestExceptions(): void {
  const proto = ExceptionsHandler.prototype as Patchable;
  if (proto[PATCHED]) return;
  const next = proto.next;
  proto.next = function llmscopeNext(this: ExceptionsHandler, exception: Parameters<typeof next>[0], host: Parameters<typeof next>[1]): void {
    const ctx = getContext();
    if (ctx !== undefined && ctx.owner instanceof Llmscope) ctx.owner.recordError(ctx, exception);
    return next.call(this, exception, host);
  };
  proto[PATCHED] = true;
}
