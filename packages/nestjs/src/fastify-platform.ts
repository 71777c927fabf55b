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
 * So the plugin's `onRequest` hook goes to the adapter's instrumentation hook ({@link runFirst});
 * its other hooks and its `/metrics` route are registered as usual.
 */
export async function registerOnFastify(adapter: AbstractHttpAdapter, options: LlmscopeModuleOptions | undefined): Promise<Llmscope> {
  const fastify = adapter.getInstance<FastifyInstance>();
  const captured: RequestHook[] = [];
  const addHook = fastify.addHook;
  if (runsRequestHooks(adapter)) {
    // The plugin is wrapped with fastify-plugin, so it adds its hooks on this very instance.
    fastify.addHook = function captureOnRequest(this: FastifyInstance, name: string, hook: RequestHook) {
      if (name === 'onRequest') {
        captured.push(hook);
        return this;
      }
      return (addHook as (this: FastifyInstance, ...a: unknown[]) => FastifyInstance).call(this, name, hook);
    } as FastifyInstance['addHook'];
  }
  try {
    // Awaiting register() loads the plugin now: its instance is needed by the providers being created.
    await fastify.register(fastifyPlugin, options ?? {});
  } finally {
    fastify.addHook = addHook;
  }
  const [first] = captured;
  if (captured.length === 1 && first !== undefined) runFirst(adapter, first);
  // Not the plugin's shape (or another plugin loaded meanwhile): plain Fastify hooks then.
  else for (const hook of captured) fastify.addHook('onRequest', hook as never);
  return fastify.llmscope;
}
