import 'reflect-metadata';
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { LlmscopeModule, type LlmscopeModuleOptions } from '@llmscope/nestjs';
import { ChatController } from './chat.controller';
import { RagService } from './rag.service';

/** Options of {@link createApp}; the defaults are what `npm start` runs. */
export interface AppOptions {
  /** llmscope options (default: none, so each trace prints as a tree outside production). */
  llmscope?: LlmscopeModuleOptions;
  /** The Nest HTTP platform. Default `express`. */
  platform?: 'express' | 'fastify';
}

/** The example RAG chat API as a Nest application (not yet listening). */
export function createApp(options: AppOptions = {}): Promise<INestApplication> {
  // User and session come from the x-user-id / x-session-id headers by default.
  @Module({ imports: [LlmscopeModule.forRoot(options.llmscope)], controllers: [ChatController], providers: [RagService] })
  class AppModule {}
  const adapter = options.platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  return NestFactory.create(AppModule as Type, adapter, { logger: ['error', 'warn'] });
}
