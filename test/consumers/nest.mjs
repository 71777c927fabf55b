// A NestJS 12 app (ES modules only) in an ES module, using @llmscope/nestjs as published: its
// CommonJS build require()s Nest (Node >= 20.19), and this file imports it through dist/esm.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import nestDefault, { LlmscopeModule, LlmscopeService, getContext } from '@llmscope/nestjs';

assert.equal(nestDefault.LlmscopeModule, LlmscopeModule);

// Decorators applied by hand: this file is plain JavaScript.
class HelloController {
  hello() {
    return { inside: getContext() !== undefined };
  }
}
Get('hello')(HelloController.prototype, 'hello', Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'));
Controller()(HelloController);
class AppModule {}
Module({ imports: [LlmscopeModule.forRoot({ serviceName: 'consumer-nest-esm' })], controllers: [HelloController] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
assert.ok(app.get(LlmscopeService));
await app.listen(0, '127.0.0.1');
const base = await app.getUrl();
assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { inside: true });
assert.ok((await (await fetch(`${base}/metrics`)).text()).includes(`http_server_requests_total{method="GET",route="/hello",status_code="200"} 1`), "/metrics counts GET /hello by its route");
await app.close();
console.log('nest esm consumer ok');
