import type { AbstractHttpAdapter } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Llmscope } from '@llmscope/core';
import { llmscope as fastifyPlugin } from '@llmscope/fastify';
import type { LlmscopeModuleOptions } from './options';
import { runFirst, runsRequestHooks, type RequestHook } from './request-hook';

/**
 * Registers the `@llmscope/fastify` plugin on Nest's Fastify instance, its request hook run
 * first. Nest registers middie (which runs Nest middleware in an `onRequest` hook) before any
 * module code runs, so an `onRequest` hook added now would start the request after the Nest
 * middleware: they would run outside its context, and a response they end would not be recorded.
 * So the plugin is asked for its hook (`requestHook: 'external'`), which goes to the adapter's
 * instrumentation hook ({@link runFirst}); its other hooks and its `/metrics` route are
 * registered as usual.
 */
export async function registerOnFastify(adapter: AbstractHttpAdapter, options: LlmscopeModuleOptions | undefined): Promise<Llmscope> {
  const fastify = adapter.getInstance<FastifyInstance>();
  const external = runsRequestHooks(adapter);
  // Awaiting register() loads the plugin now: its instance is needed by the providers being created.
  await fastify.register(fastifyPlugin, { ...(options ?? {}), requestHook: external ? 'external' : 'onRequest' });
  const hook = fastify.llmscopeRequestHook;
  if (hook !== undefined) runFirst(adapter, hook as RequestHook);
  return fastify.llmscope;
}
