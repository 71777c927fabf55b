import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Llmscope } from '@llmscope/core/adapter';
import { captureNestExceptions } from './exception-capture';
import { LlmscopeService } from './llmscope.service';
import { LlmscopePrompts } from './llmscope-prompts.service';
import type { LlmscopeModuleAsyncOptions, LlmscopeModuleOptions } from './options';
import { attachLlmscope } from './platform';
import { LLMSCOPE_OPTIONS } from './tokens';

/**
 * llmscope for NestJS. Import it once, in the root module:
 * `LlmscopeModule.forRoot(options)` or `LlmscopeModule.forRootAsync({ imports, useFactory, inject })`.
 * It is global: `LlmscopeService`, `LlmscopePrompts` and the `Llmscope` instance are injectable everywhere.
 *
 * When Nest creates the application, the module hooks llmscope into the HTTP platform
 * (platform-express or platform-fastify), serves `/metrics`, records every request with its route
 * template, status, user, session and tags, and the exceptions Nest's handlers throw. Invalid
 * options make `NestFactory.create()` fail with an `LlmscopeConfigError` that names the option.
 */
@Global()
@Module({})
export class LlmscopeModule implements OnApplicationShutdown {
  constructor(@Inject(Llmscope) private readonly scope: Llmscope) {}

  /** The module with static options (validated when the application is created). */
  static forRoot(options: LlmscopeModuleOptions = {}): DynamicModule {
    return build({ provide: LLMSCOPE_OPTIONS, useValue: options }, []);
  }

  /** The module with options from a factory, e.g. `useFactory: (config: ConfigService) => ({ ... }), inject: [ConfigService]`. */
  static forRootAsync(options: LlmscopeModuleAsyncOptions): DynamicModule {
    return build({ provide: LLMSCOPE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, options.imports ?? []);
  }

  /** Flushes the span processors when the application closes (`app.close()`, shutdown hooks). */
  async onApplicationShutdown(): Promise<void> {
    await this.scope.shutdown();
  }
}

function build(optionsProvider: Provider, imports: NonNullable<DynamicModule['imports']>): DynamicModule {
  return {
    module: LlmscopeModule,
    global: true,
    imports,
    providers: [
      optionsProvider,
      {
        provide: Llmscope,
        useFactory: (options: LlmscopeModuleOptions | undefined, host: HttpAdapterHost) => {
          captureNestExceptions();
          return attachLlmscope(host.httpAdapter ?? undefined, options);
        },
        inject: [LLMSCOPE_OPTIONS, HttpAdapterHost],
      },
      LlmscopeService,
      LlmscopePrompts,
    ],
    exports: [Llmscope, LlmscopeService, LlmscopePrompts, LLMSCOPE_OPTIONS],
  };
}
