import type { AbstractHttpAdapter } from '@nestjs/core';
import type { Application as ExpressApp } from 'express';
import type { FastifyInstance } from 'fastify';
import { getContext, Llmscope, resolveOptions } from '@llmscope/core';
import { llmscope as expressMiddleware } from '@llmscope/express';
import { llmscope as fastifyPlugin } from '@llmscope/fastify';
import type { LlmscopeModuleOptions } from './options';

/**
 * Hooks llmscope's request lifecycle into the platform under Nest, through the platform's own
 * llmscope adapter: the Express middleware on `@nestjs/platform-express` (Nest on Express *is* an
 * Express app at that level), the Fastify plugin on `@nestjs/platform-fastify`. This runs while
 * Nest instantiates providers, before `app.init()` adds body parsers, middleware, routes and the
 * not-found handler, so every request is seen, including 404s, guard rejections and the statuses
 * set by exception filters. Without an HTTP adapter (an application context) or on another
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
    adapter.getInstance<ExpressApp>().use(middleware);
    scope = middleware.llmscope;
  } else if (adapter !== undefined && type === 'fastify') {
    const fastify = adapter.getInstance<FastifyInstance>();
    // Awaiting register() loads the plugin now: its hooks join the root context before Nest adds
    // routes, and its instance is needed by the providers being created.
    await fastify.register(fastifyPlugin, options ?? {});
    scope = fastify.llmscope;
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
      if (ctx !== undefined && ctx.owner === scope) ctx.route = undefined;
      return handler.apply(this, args);
    };
    return (setNotFoundHandler as (...a: unknown[]) => unknown).call(this, notFound, ...rest);
  };
}
