// An ES module app of @llmscope/* as published: run by consumers.test.ts against the built
// packages (dist), resolved through node_modules like an installed dependency.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import express from 'express';
import Fastify from 'fastify';
import expressLlmscope, { llmscope as expressNamed, Llmscope, step, getContext } from '@llmscope/express';
import fastifyLlmscope, { llmscope as fastifyNamed } from '@llmscope/fastify';
import * as core from '@llmscope/core';
import coreDefault from '@llmscope/core';
import { RequestContext } from '@llmscope/core/adapter';
import { Backend, OtlpReceiver } from '@llmscope/testkit';
import { createServer } from 'node:http';
import withLlmscope, { withLlmscope as withNamed, setRoute } from '@llmscope/node';

// Defaults are the middleware and the plugin, not the CommonJS exports object.
assert.equal(typeof expressLlmscope, 'function');
assert.equal(expressLlmscope, expressNamed);
assert.equal(typeof fastifyLlmscope, 'function');
assert.equal(fastifyLlmscope, fastifyNamed);
// Without a default in the source, the default is the exports object (as before the wrapper).
assert.equal(coreDefault.Llmscope, core.Llmscope);
assert.equal(typeof RequestContext, 'function');
assert.equal(typeof Backend, 'function');
assert.equal(typeof OtlpReceiver, 'function');

// One implementation: import and require give the same objects, so the process-wide state
// (AsyncLocalStorage, span processor) is shared by ESM and CommonJS code in one app.
const require = createRequire(import.meta.url);
assert.equal(require('@llmscope/core').Llmscope, core.Llmscope);
assert.equal(require('@llmscope/express').llmscope, expressLlmscope);
assert.equal(require('@llmscope/core/adapter').RequestContext, RequestContext);
assert.equal(Llmscope, core.Llmscope);

// The Express middleware works: a request gets a context, /metrics is served.
const app = express();
const middleware = expressLlmscope({ serviceName: 'consumer-esm' });
app.use(middleware);
app.get('/hello', async (_req, res) => {
  const inside = await step('greet', async () => getContext() !== undefined);
  res.json({ inside });
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { inside: true });
const metrics = await (await fetch(`${base}/metrics`)).text();
assert.match(metrics, /http_server_request_duration_seconds/);
await new Promise((resolve) => server.close(resolve));
await middleware.llmscope.shutdown();

// The Fastify plugin works as the default import.
const fastify = Fastify();
await fastify.register(fastifyLlmscope, { serviceName: 'consumer-esm' });
fastify.get('/hello', async () => ({ ok: true }));
assert.equal((await fastify.inject({ url: '/hello' })).statusCode, 200);
assert.match((await fastify.inject({ url: '/metrics' })).body, /http_server_request_duration_seconds/);
await fastify.close();

// The node:http adapter: default and named, and one request through it.
assert.equal(withLlmscope, withNamed);
const handler = withLlmscope((_req, res) => {
  setRoute('/plain/:id');
  res.end(String(getContext() !== undefined));
}, { serviceName: 'consumer-esm' });
const plain = createServer(handler).listen(0, '127.0.0.1');
await new Promise((resolve) => plain.once('listening', resolve));
const plainBase = `http://127.0.0.1:${plain.address().port}`;
assert.equal(await (await fetch(`${plainBase}/plain/7`)).text(), 'true');
assert.ok((await (await fetch(`${plainBase}/metrics`)).text()).includes('route="/plain/:id"'), '/metrics labels the route set by setRoute');
await new Promise((resolve) => plain.close(resolve));
await handler.llmscope.shutdown();

console.log('esm consumer ok');
