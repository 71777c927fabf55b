// Type-checked (not run) by ../consumers.test.ts with module nodenext: what a CommonJS TypeScript
// app sees (exports "require" → dist/*.d.ts). Imports compile to require() here.
import express = require('express');
import llmscope, { llmscope as named, Llmscope, type LlmscopeMiddleware } from '@llmscope/express';
import fastifyLlmscope, { llmscope as fastifyNamed } from '@llmscope/fastify';
import { createLlmscope, getContext } from '@llmscope/core';
import { RequestContext } from '@llmscope/core/adapter';
import { LlmscopeModule } from '@llmscope/nestjs';
import testkit = require('@llmscope/testkit');
import expressPkg = require('@llmscope/express');
import withLlmscope, { type LlmscopeHandler } from '@llmscope/node';

const middleware: LlmscopeMiddleware = llmscope({ serviceName: 'types-cjs' });
const same: typeof named = llmscope;
const viaRequire: typeof llmscope = expressPkg.default;
const viaRequireNamed: typeof llmscope = expressPkg.llmscope;
express().use(middleware);
const scope: Llmscope = middleware.llmscope;
// @ts-expect-error the default is the middleware factory (this fails if it were typed any)
llmscope(42);
const plugin: typeof fastifyNamed = fastifyLlmscope;
const created: Llmscope = createLlmscope();
const inside: boolean = getContext() !== undefined;
const ctx: typeof RequestContext = RequestContext;
const dynamicModule = LlmscopeModule.forRoot({});
const server: typeof testkit.LlmServer = testkit.LlmServer;
const nodeHandler: LlmscopeHandler = withLlmscope((_req, res) => res.end());
export { nodeHandler, same, viaRequire, viaRequireNamed, scope, plugin, created, inside, ctx, dynamicModule, server };
