import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  Catch, Controller, ForbiddenException, Get, HttpStatus, Injectable, Module, Param, Post, Body, UseFilters, UseGuards,
  type ArgumentsHost, type CanActivate, type DynamicModule, type ExceptionFilter, type INestApplication, type Type,
} from '@nestjs/common';
import { NestFactory, type AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { assertNestLoaded } from '../../../test/compat/nest-major';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** A running Nest app on 127.0.0.1 and a random port. */
export interface RunningNest {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** Creates the Nest app on the platform (a real adapter, a real server) and listens. */
export async function startNest(
  platform: Platform, module: Type | DynamicModule, prefix?: string,
  beforeListen?: (app: INestApplication) => void, beforeCreate?: (adapter: AbstractHttpAdapter) => void,
): Promise<RunningNest> {
  assertNestLoaded();
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  beforeCreate?.(adapter);
  // abortOnError: false, so that a failing bootstrap rejects instead of aborting the process.
  const app = await NestFactory.create(module as Type, adapter, { logger: false, abortOnError: false });
  if (prefix !== undefined) app.setGlobalPrefix(prefix);
  beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = 100;
  const { port } = server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export class Teapot extends Error {}

@Catch(Teapot)
export class TeapotFilter implements ExceptionFilter {
  catch(_error: Teapot, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status?: (c: number) => { send(b: unknown): void }; code?: (c: number) => { send(b: unknown): void } }>();
    // Express response: status(); Fastify reply: code().
    const reply = typeof res.code === 'function' ? res.code(HttpStatus.I_AM_A_TEAPOT) : (res.status as (c: number) => { send(b: unknown): void })(HttpStatus.I_AM_A_TEAPOT);
    reply.send({ teapot: true });
  }
}

@Injectable()
export class DenyGuard implements CanActivate {
  canActivate(): boolean {
    throw new ForbiddenException('no');
  }
}

@Controller('v1/items')
export class ItemsController {
  @Get(':id')
  get(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post()
  create(@Body() body: { name?: string }): { name: string | undefined } {
    return { name: body?.name };
  }
}

@Controller()
export class MiscController {
  @Get('denied')
  @UseGuards(DenyGuard)
  denied(): string {
    return 'never';
  }

  @Get('teapot')
  @UseFilters(TeapotFilter)
  teapot(): never {
    throw new Teapot('short and stout');
  }

  @Get('boom')
  boom(): never {
    throw new Error('nest boom');
  }

  @Get('async-boom')
  async asyncBoom(): Promise<never> {
    await new Promise((r) => setTimeout(r, 1));
    throw new TypeError('async nest boom');
  }
}

/** A module with the routes every platform test uses, around the llmscope module under test. */
export function appModule(llmscope: DynamicModule, extra: Type[] = []): Type {
  @Module({ imports: [llmscope], controllers: [ItemsController, MiscController, ...extra] })
  class AppModule {}
  return AppModule;
}
