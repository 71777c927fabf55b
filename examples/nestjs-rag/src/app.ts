import 'reflect-metadata';
import { Inject, Injectable, Module, type INestApplication, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Llmscope, LlmscopeModule, type LlmscopeModuleOptions } from '@llmscope/nestjs';
import { llmscopeConsole, type ConsoleOptions, type LlmscopeConsole } from '@llmscope/console';
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
  /** Options of the local console at /llmscope (`@llmscope/console`); `false`: not mounted. */
  console?: ConsoleOptions | false;
}

/**
 * The local console, mounted on the llmscope instance that `LlmscopeModule.forRoot()` provides
 * (injectable as `Llmscope`), and unmounted when the application closes. Nest serves it through
 * llmscope's own hook on either platform: no controller, no route of the app.
 */
@Injectable()
export class LlmscopeConsoleService implements OnApplicationShutdown {
  /** The mounted console (its `path`, its `store`). */
  readonly console: LlmscopeConsole;
  constructor(@Inject(Llmscope) scope: Llmscope, @Inject('LLMSCOPE_CONSOLE_OPTIONS') options: ConsoleOptions | undefined) {
    this.console = llmscopeConsole(scope, options);
  }
  onApplicationShutdown(): void {
    this.console.close();
  }
}

/** The example RAG chat API as a Nest application (not yet listening). */
export function createApp(options: AppOptions = {}): Promise<INestApplication> {
  // User and session come from the x-user-id / x-session-id headers by default. The shared options
  // price the simulated model and score its answers: citations on every call, a judge on a
  // sample, and human feedback at POST /llmscope/feedback (examples/shared/src/evaluations.ts).
  const scoring = exampleLlmscopeOptions({ judgeSampleRate: options.judgeSampleRate });
  const llmscope = { ...scoring, ...options.llmscope, llm: { ...scoring.llm, ...options.llmscope?.llm } };
  const consoleProviders = options.console === false ? [] : [{ provide: 'LLMSCOPE_CONSOLE_OPTIONS', useValue: options.console }, LlmscopeConsoleService];
  @Module({ imports: [LlmscopeModule.forRoot(llmscope)], controllers: [ChatController], providers: [RagService, ...consoleProviders] })
  class AppModule {}
  const adapter = options.platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  return NestFactory.create(AppModule as Type, adapter, { logger: ['error', 'warn'] });
}
