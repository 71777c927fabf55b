// A CommonJS app of @llmscope/* as published (see esm.mjs).
'use strict';
const assert = require('node:assert/strict');
const express = require('express');
const Fastify = require('fastify');
const expressPkg = require('@llmscope/express');
const fastifyPkg = require('@llmscope/fastify');
const core = require('@llmscope/core');
const adapter = require('@llmscope/core/adapter');
const testkit = require('@llmscope/testkit');
const nodePkg = require('@llmscope/node');

assert.equal(typeof expressPkg.llmscope, 'function');
assert.equal(expressPkg.default, expressPkg.llmscope);
assert.equal(typeof fastifyPkg.llmscope, 'function');
assert.equal(fastifyPkg.default, fastifyPkg.llmscope);
assert.equal(expressPkg.Llmscope, core.Llmscope);
assert.equal(adapter.Llmscope, core.Llmscope);
assert.equal(typeof testkit.LlmServer, 'function');
assert.equal(nodePkg.default, nodePkg.withLlmscope);
assert.equal(nodePkg.Llmscope, core.Llmscope);

async function main() {
  const app = express();
  const middleware = expressPkg.default({ serviceName: 'consumer-cjs' });
  app.use(middleware);
  app.get('/hello', (_req, res) => res.json({ inside: core.getContext() !== undefined }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { inside: true });
  assert.match(await (await fetch(`${base}/metrics`)).text(), /http_server_request_duration_seconds/);
  await new Promise((resolve) => server.close(resolve));
  await middleware.llmscope.shutdown();

  const fastify = Fastify();
  await fastify.register(fastifyPkg.llmscope, { serviceName: 'consumer-cjs' });
  fastify.get('/hello', async () => ({ ok: true }));
  assert.equal((await fastify.inject({ url: '/hello' })).statusCode, 200);
  await fastify.close();
  console.log('cjs consumer ok');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
