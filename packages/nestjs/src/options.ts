import type { IncomingHttpHeaders } from 'node:http';
import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { LlmscopeOptions } from '@llmscope/core';

/**
 * What `identify` receives: the platform's request object, an Express `Request` on
 * `@nestjs/platform-express`, a `FastifyRequest` on `@nestjs/platform-fastify`. Both have these fields.
 */
export interface PlatformRequest {
  headers: IncomingHttpHeaders;
  method?: string;
  url?: string;
}

/** Options of {@link LlmscopeModule}: llmscope's options, `identify` receiving the platform request. */
export type LlmscopeModuleOptions = LlmscopeOptions<PlatformRequest>;

/** Options of `LlmscopeModule.forRootAsync()`: the options come from a factory with injected dependencies. */
export interface LlmscopeModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the options (or a promise of them); validated when the application is created. */
  useFactory: (...args: never[]) => LlmscopeModuleOptions | Promise<LlmscopeModuleOptions>;
  /** Providers passed to `useFactory`, in order (e.g. `[ConfigService]`). */
  inject?: FactoryProvider['inject'];
}
