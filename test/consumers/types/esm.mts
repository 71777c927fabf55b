// Type-checked (not run) by ../consumers.test.ts with module nodenext, against the built packages'
// declarations: what an ES module TypeScript app sees (exports "import" → dist/esm/*.d.mts).
import express from 'express';
import Fastify from 'fastify';
import llmscope, { llmscope as named, Llmscope, step, type LlmscopeMiddleware, type LlmscopeOptions } from '@llmscope/express';
import fastifyLlmscope, { llmscope as fastifyNamed, type LlmscopeFastifyOptions } from '@llmscope/fastify';
import core, { createLlmscope, getContext } from '@llmscope/core';
import { RequestContext, resolveOptions } from '@llmscope/core/adapter';
import nest, { LlmscopeModule, type LlmscopeModuleOptions } from '@llmscope/nestjs';
import { LlmServer, OtlpReceiver } from '@llmscope/testkit';
import { createServer } from 'node:http';
import withLlmscope, { setRoute, type LlmscopeHandler } from '@llmscope/node';

const options: LlmscopeOptions = { serviceName: 'types-esm' };
const middleware: LlmscopeMiddleware = llmscope(options);
const same: typeof named = llmscope;
express().use(middleware);
const scope: Llmscope = middleware.llmscope;
// @ts-expect-error the default is the middleware factory (this fails if it were typed any)
llmscope(42);

const fastifyOptions: LlmscopeFastifyOptions = { serviceName: 'types-esm' };
void Fastify().register(fastifyLlmscope, fastifyOptions);
void Fastify().register(fastifyNamed);
// @ts-expect-error the default is the plugin, which Fastify calls with (instance, options, done)
fastifyLlmscope();

// Without a source default, the default is the exports object (what Node gives).
const created: Llmscope = core.createLlmscope();
const alsoCreated: Llmscope = createLlmscope();
const inside: boolean = getContext() !== undefined;
const ctx: typeof RequestContext = RequestContext;
const resolved = resolveOptions({});
const nestOptions: LlmscopeModuleOptions = { serviceName: 'types-esm' };
const dynamicModule = LlmscopeModule.forRoot(nestOptions);
const sameModule: typeof LlmscopeModule = nest.LlmscopeModule;
const traced: Promise<number> = step('work', async () => 1);
const nodeHandler: LlmscopeHandler = withLlmscope((_req, res) => {
  setRoute('/x');
  res.end();
});
createServer(nodeHandler);
// @ts-expect-error the default is withLlmscope, which needs a handler
withLlmscope();
export { same, scope, created, alsoCreated, inside, ctx, resolved, dynamicModule, sameModule, traced, LlmServer, OtlpReceiver };
