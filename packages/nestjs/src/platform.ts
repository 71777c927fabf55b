import type { AbstractHttpAdapter } from '@nestjs/core';
import type { Application as ExpressApp } from 'express';
import { getContext, Llmscope, resolveOptions } from '@llmscope/core/adapter';
import { enterAtRouter, llmscope as expressMiddleware } from '@llmscope/express';
import { registerOnFastify } from './fastify-platform';
import { runFirst, runsRequestHooks, type RequestHook } from './request-hook';
import type { LlmscopeModuleOptions } from './options';

/**
 * Hooks llmscope's request lifecycle into the platform under Nest, through the platform's own
 * llmscope adapter: the Express middleware on `@nestjs/platform-express` (Nest on Express *is* an
 * Express app at that level), the Fastify plugin on `@nestjs/platform-fastify`. Their request
 * hook runs first, so every request is seen, including 404s, guard rejections, the statuses set
 * by exception filters and the responses Nest middleware ends; everything after it runs inside
 * the request's context. On Express 5 (Nest 11+) requests start at the app router's entry
 * ({@link enterAtRouter}), before Nest's own first layer and the hook it runs; elsewhere through
 * the adapter's instrumentation hook ({@link runFirst}), or as the first middleware where the
 * adapter has none (Nest 10). Without an HTTP adapter (an application context) or on another
 * platform, the instance records LLM calls and steps only.
 *
 * @returns the llmscope instance behind the adapter. Throws LlmscopeConfigError on bad options.
 */
export async function attachLlmscope(adapter: AbstractHttpAdapter | undefined, options: LlmscopeModuleOptions | undefined): Promise<Llmscope> {
  // Validated first, so that a mistake reads the same on every platform.
  resolveOptions(options);
  const type = adapter?.getType();
  let scope: Llmscope;
  if (adapter !== undefined && type === 'express') {
    const middleware = expressMiddleware(options);
    const app = adapter.getInstance<ExpressApp>();
    // At the router's entry there is nothing to chain: a hook the app gives the adapter runs in
    // Nest's first layer, inside the context. Else the middleware is an Express middleware either
    // way: run first, or first in the app's stack.
    if (!enterAtRouter(app, middleware)) {
      if (runsRequestHooks(adapter)) runFirst(adapter, middleware as RequestHook);
      else app.use(middleware);
    }
    scope = middleware.llmscope;
  } else if (adapter !== undefined && type === 'fastify') {
    scope = await registerOnFastify(adapter, options);
  } else {
    if (adapter !== undefined) {
      process.emitWarning(`llmscope: the Nest HTTP platform "${String(type)}" is not supported (express and fastify are); requests are not recorded, LLM calls and steps are.`, 'LlmscopeWarning');
    }
    return new Llmscope(options);
  }
  labelNotFoundUnmatched(adapter, scope);
  return scope;
}

/**
 * Nest answers unmatched requests from a catch-all route (Express: `*path` under the global
 * prefix), whose template would become the route label. Requests that reach Nest's not-found
 * handler are unmatched, whatever route carried them there.
 */
function labelNotFoundUnmatched(adapter: AbstractHttpAdapter, scope: Llmscope): void {
  const setNotFoundHandler = adapter.setNotFoundHandler;
  adapter.setNotFoundHandler = function llmscopeSetNotFoundHandler(this: AbstractHttpAdapter, handler: (...args: unknown[]) => unknown, ...rest: unknown[]) {
    const notFound = function llmscopeNotFound(this: unknown, ...args: unknown[]): unknown {
      const ctx = getContext();
      if (ctx !== undefined && ctx.owner === scope) scope.setRoute(ctx, undefined);
      return handler.apply(this, args);
    };
    return (setNotFoundHandler as (...a: unknown[]) => unknown).call(this, notFound, ...rest);
  };
}
