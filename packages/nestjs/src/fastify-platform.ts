import type { AbstractHttpAdapter } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Llmscope } from '@llmscope/core';
import { llmscope as fastifyPlugin, type LlmscopeRequestHook } from '@llmscope/fastify';
import type { LlmscopeModuleOptions } from './options';
import { runFirst, runsRequestHooks, type RequestHook } from './request-hook';

/**
 * Registers the `@llmscope/fastify` plugin on Nest's Fastify instance, its request hook run
 * first. Nest registers middie (which runs Nest middleware in an `onRequest` hook) before any
 * module code runs, so an `onRequest` hook added now would start the request after the Nest
 * middleware: they would run outside its context, and a response they end would not be recorded.
 * So the plugin is asked for its hook (`requestHook: 'external'`), which goes to the adapter's
 * instrumentation hook ({@link runFirst}) on Nest 11+, or before middie's on Nest 10
 * ({@link firstOnRequest}); its other hooks and its `/metrics` route are registered as usual.
 */
export async function registerOnFastify(adapter: AbstractHttpAdapter, options: LlmscopeModuleOptions | undefined): Promise<Llmscope> {
  const fastify = adapter.getInstance<FastifyInstance>();
  // Awaiting register() loads the plugin now: its instance is needed by the providers being created.
  await fastify.register(fastifyPlugin, { ...(options ?? {}), requestHook: 'external' });
  const hook = fastify.llmscopeRequestHook;
  if (hook === undefined) throw new Error('llmscope: the Fastify plugin did not expose its request hook');
  if (runsRequestHooks(adapter)) runFirst(adapter, hook as RequestHook);
  else firstOnRequest(fastify, hook);
  return fastify.llmscope;
}

/** The `onRequest` hook list of a Fastify 4 or 5 instance: `Hooks` under the `fastify.hooks` symbol. */
function onRequestHooks(fastify: FastifyInstance): unknown[] | undefined {
  const key = Object.getOwnPropertySymbols(fastify).find((s) => s.description === 'fastify.hooks');
  const hooks = key === undefined ? undefined : (fastify as unknown as Record<symbol, { onRequest?: unknown } | undefined>)[key];
  return Array.isArray(hooks?.onRequest) ? hooks.onRequest : undefined;
}

/**
 * Nest 10's adapters have no instrumentation hook (`setOnRequestHook` came with Nest 11), and
 * Fastify runs `onRequest` hooks in the order they were added, middie's (added by the adapter's
 * `init()`, before any module code) first. So the hook goes to the front of the instance's
 * `onRequest` list. Fastify copies that list into each route's context when the app gets
 * ready, after Nest has registered its routes, so every route and the 404 handler start with it.
 * Fastify has no public way to prepend a hook; where the list is not found the hook is added
 * last, and Nest middleware runs outside the request's context (a warning says so).
 */
function firstOnRequest(fastify: FastifyInstance, hook: LlmscopeRequestHook): void {
  const list = onRequestHooks(fastify);
  if (list !== undefined) {
    list.unshift(hook);
    return;
  }
  process.emitWarning('llmscope: this Fastify instance\'s onRequest hooks could not be reached, so llmscope\'s request hook runs after Nest middleware (which then sees no request context). Use Nest 11 or later.', 'LlmscopeWarning');
  fastify.addHook('onRequest', hook);
}
