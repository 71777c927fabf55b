import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { from, map, type Observable } from 'rxjs';
import { Body, Controller, Get, Module, Param, Post, Sse, type MessageEvent, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { LlmscopeModule, PromptVersion } from '@llmscope/nestjs';
import { baggageHandler, boomHandler, chatHandler, meHandler, plainHandler, slowHandler, streamEvents, taggedHandler, userHandler } from '../scenario';
import type { ContractOptions, RunningApp } from '../target';

@Controller()
class ScenarioController {
  @Get('users/:id')
  user(@Param('id') id: string): { id: string } {
    return userHandler(id);
  }

  @Get('boom')
  boom(): never {
    return boomHandler();
  }

  @Get('tagged')
  tagged(): Promise<{ ok: true }> {
    return taggedHandler();
  }

  // The Nest way to set the prompt version: the decorator, not a call in the handler.
  @Post('chat')
  @PromptVersion('answer', 'v2')
  chat(@Body() body: { question?: unknown }): Promise<{ answer: string }> {
    return chatHandler(String(body?.question), false);
  }

  @Get('me')
  me(): { user: string | null; session: string | null } {
    return meHandler();
  }

  @Get('plain')
  plain(): Promise<{ user: string | null }> {
    return plainHandler();
  }

  @Get('slow')
  slow(): Promise<{ late: true }> {
    return slowHandler();
  }

  // The Nest way to stream Server-Sent Events: an Observable of message events.
  @Sse('stream')
  stream(): Observable<MessageEvent> {
    return from(streamEvents()).pipe(map((data) => ({ data })));
  }

  @Get('baggage')
  baggage(): { tenant: string | null; traceState: string | null } {
    return baggageHandler();
  }
}

// `/api/v1/items/:id` comes from the controller path, the Nest way to prefix a group of routes.
@Controller('api/v1/items')
class ItemsController {
  @Get(':id')
  item(@Param('id') id: string): { id: string } {
    return userHandler(id);
  }
}

/** Builds the scenario app on a Nest platform adapter and listens on 127.0.0.1. */
export async function startNestApp(adapter: AbstractHttpAdapter, options: ContractOptions | undefined): Promise<RunningApp> {
  @Module({ imports: [LlmscopeModule.forRoot(options)], controllers: [ScenarioController, ItemsController] })
  class ContractModule {}
  const app = await NestFactory.create(ContractModule as Type, adapter, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = 100;
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
