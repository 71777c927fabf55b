import 'reflect-metadata';
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { LlmscopeModule, type LlmscopeModuleOptions } from '@llmscope/nestjs';
import { exampleLlmscopeOptions } from '../../shared/src';
import { ChatController } from './chat.controller';
import { RagService } from './rag.service';

/** Options of {@link createApp}; the defaults are what `npm start` runs. */
export interface AppOptions {
  /** llmscope options, over the example's own (the price of sim-gpt, the evaluators, the feedback route). Each trace prints as a tree outside production. */
  llmscope?: LlmscopeModuleOptions;
  /** The Nest HTTP platform. Default `express`. */
  platform?: 'express' | 'fastify';
  /** Share of the answers the relevance judge grades (default 0.5). */
  judgeSampleRate?: number;
}

/** The example RAG chat API as a Nest application (not yet listening). */
export function createApp(options: AppOptions = {}): Promise<INestApplication> {
  // User and session come from the x-user-id / x-session-id headers by default. The shared options
  // price the simulated model and score its answers: citations on every call, a judge on a
  // sample, and human feedback at POST /llmscope/feedback (examples/shared/src/evaluations.ts).
  const scoring = exampleLlmscopeOptions({ judgeSampleRate: options.judgeSampleRate });
  const llmscope = { ...scoring, ...options.llmscope, llm: { ...scoring.llm, ...options.llmscope?.llm } };
  @Module({ imports: [LlmscopeModule.forRoot(llmscope)], controllers: [ChatController], providers: [RagService] })
  class AppModule {}
  const adapter = options.platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  return NestFactory.create(AppModule as Type, adapter, { logger: ['error', 'warn'] });
}
