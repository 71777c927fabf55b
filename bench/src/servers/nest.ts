import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import express from 'express';
import { LlmscopeModule } from '@llmscope/nestjs';
import { serve, variant } from '../harness';
import { appPrototypeServer, listenLocal } from './app-prototypes';

@Controller('users')
class UsersController {
  @Get(':id')
  get(@Param('id') id: string): { id: string; name: string } {
    return { id, name: 'Ada' };
  }
}

@Module({ controllers: [UsersController] })
class BareModule {}

@Module({ imports: [LlmscopeModule.forRoot({ tracing: false })], controllers: [UsersController] })
class LlmscopeMetricsModule {}

/** Options left at their defaults (exports only when the bench sets OTEL_EXPORTER_OTLP_ENDPOINT). */
@Module({ imports: [LlmscopeModule.forRoot()], controllers: [UsersController] })
class LlmscopeDefaultsModule {}

const ROOTS: Record<string, typeof BareModule | undefined> = { 'bare': BareModule, 'als': BareModule, 'llmscope-metrics': LlmscopeMetricsModule, 'llmscope-defaults': LlmscopeDefaultsModule };

/**
 * As users run it (`app.listen`), or, with BENCH_EXPRESS_SERVER=app-prototypes, Nest's Express
 * app on a server whose requests and responses are born with that app's prototypes (Nest's
 * documented `app.init()` + own server), as the Express app-prototype rows: Express's
 * `setPrototypeOf` is then a no-op, and on Node 20/22 the rows measure llmscope rather than
 * Express's garbage collection (docs/express.md, "On Node 20 and 22").
 */
async function main(): Promise<number> {
  const root = ROOTS[variant()];
  if (root === undefined) throw new Error(`unknown nest variant ${variant()}`);
  const instance = express();
  const app = await NestFactory.create(root, new ExpressAdapter(instance), { logger: false });
  if (variant() === 'als') {
    // The control: a request context entered where llmscope enters it (the Express router's
    // entry, before Nest's first layer), nothing else.
    const als = new AsyncLocalStorage<{ user: string | undefined }>();
    type Handle = (req: IncomingMessage, res: ServerResponse, done: () => void) => void;
    const router = (instance as unknown as { router: { handle: Handle } }).router;
    const handle = router.handle;
    router.handle = (req, res, done) => als.run({ user: req.headers['x-user-id'] as string | undefined }, () => handle.call(router, req, res, done));
  }
  if (process.env.BENCH_EXPRESS_SERVER !== 'app-prototypes') {
    await app.listen(0, '127.0.0.1');
    return (app.getHttpServer().address() as { port: number }).port;
  }
  await app.init();
  return listenLocal(appPrototypeServer(instance));
}

serve(main);
