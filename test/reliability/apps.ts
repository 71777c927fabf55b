/**
 * One tiny app per adapter for the fuzzing of app code: `GET /act` with an `x-action` header runs
 * `act(id)` (a handler of the test's, which calls llmscope's API with hostile values) inside the
 * request and answers its result as JSON; `GET /ok` answers `{ ok: true }`. Each adapter's own
 * idiom, as the contract targets (which cannot take a route of the test's) are built.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { Controller, Get, Headers, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { llmscope as expressLlmscope } from '@llmscope/express';
import { llmscope as fastifyLlmscope } from '@llmscope/fastify';
import { LlmscopeModule } from '@llmscope/nestjs';
import { withLlmscope } from '@llmscope/node';
import { step, traceLLM, type LlmscopeOptions } from '@llmscope/core';
import { listen } from '@llmscope/testkit';

/** The test's handler: what the route's code does, given the action id from the request. */
export type Act = (id: string) => Promise<unknown>;

export interface FuzzApp {
  url: string;
  /** Graceful: requests in flight finish, then llmscope's telemetry is flushed. */
  close(): Promise<void>;
}

export interface FuzzAdapter {
  name: string;
  start(options: LlmscopeOptions, act: Act): Promise<FuzzApp>;
}

const expressAdapter: FuzzAdapter = {
  name: 'express',
  async start(options, act) {
    const app = express();
    const mw = expressLlmscope(options);
    app.use(mw);
    app.get('/ok', (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/act', async (req, res) => {
      res.json(await act(String(req.headers['x-action'])));
    });
    const listening = await listen(app);
    return { url: listening.url, close: () => closeGracefully(listening.server, () => mw.llmscope.shutdown()) };
  },
};

const fastifyAdapter: FuzzAdapter = {
  name: 'fastify',
  async start(options, act) {
    const app = Fastify();
    await app.register(fastifyLlmscope, options);
    app.get('/ok', async () => ({ ok: true }));
    app.get('/act', async (req) => act(String(req.headers['x-action'])));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
};

let nestAct: Act = async () => undefined;

@Controller()
class FuzzController {
  @Get('ok')
  ok(): { ok: true } {
    return { ok: true };
  }

  @Get('act')
  act(@Headers('x-action') id: string): Promise<unknown> {
    return nestAct(id);
  }
}

const nestAdapter: FuzzAdapter = {
  name: 'nest',
  async start(options, act) {
    nestAct = act;
    @Module({ imports: [LlmscopeModule.forRoot(options)], controllers: [FuzzController] })
    class FuzzModule {}
    const app = await NestFactory.create(FuzzModule as Type, new ExpressAdapter(), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    server.keepAliveTimeout = 100;
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
};

const nodeAdapter: FuzzAdapter = {
  name: 'node',
  async start(options, act) {
    const handler = withLlmscope((req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/act') void act(String(req.headers['x-action'])).then((body) => res.end(JSON.stringify(body)));
      else res.end(JSON.stringify({ ok: true }));
    }, options);
    const listening = await listen(handler);
    return { url: listening.url, close: () => closeGracefully(listening.server, () => handler.llmscope.shutdown()) };
  },
};

/**
 * What an app without a framework close hook does on a deploy: `server.close()` (no new
 * connections, requests in flight finish, idle keep-alive sockets closed), then llmscope's
 * `shutdown()` flushes what those requests left buffered.
 */
async function closeGracefully(server: Server, shutdown: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await shutdown();
}

export const adapters: FuzzAdapter[] = [expressAdapter, fastifyAdapter, nestAdapter, nodeAdapter];

/**
 * What a request of the shutdown tests does: a step and an LLM call, so that each answered request
 * has 3 spans (server, step, LLM call) to look for at the receiver.
 */
export async function shutdownWork(): Promise<unknown> {
  await step('work', async () => new Promise((r) => setTimeout(r, 2)));
  return traceLLM({ model: 'shutdown-model', provider: 'shutdown' }, async () => ({ usage: { input_tokens: 3, output_tokens: 2 } }));
}
