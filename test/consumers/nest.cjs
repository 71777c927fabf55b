// The NestJS app of nest.mjs in CommonJS: require('@llmscope/nestjs') and Nest 12 through require(esm).
'use strict';
require('reflect-metadata');
const assert = require('node:assert/strict');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { LlmscopeModule, LlmscopeService, getContext } = require('@llmscope/nestjs');

class HelloController {
  hello() {
    return { inside: getContext() !== undefined };
  }
}
Get('hello')(HelloController.prototype, 'hello', Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'));
Controller()(HelloController);
class AppModule {}
Module({ imports: [LlmscopeModule.forRoot({ serviceName: 'consumer-nest-cjs' })], controllers: [HelloController] })(AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: false });
  assert.ok(app.get(LlmscopeService));
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();
  assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { inside: true });
  assert.ok((await (await fetch(`${base}/metrics`)).text()).includes(`http_server_requests_total{method="GET",route="/hello",status_code="200"} 1`), "/metrics counts GET /hello by its route");
  await app.close();
  console.log('nest cjs consumer ok');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
