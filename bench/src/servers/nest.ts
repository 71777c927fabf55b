import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LlmscopeModule } from '@llmscope/nestjs';
import { serve, variant } from '../harness';

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

const ROOTS: Record<string, typeof BareModule | undefined> = { 'bare': BareModule, 'llmscope-metrics': LlmscopeMetricsModule, 'llmscope-defaults': LlmscopeDefaultsModule };

async function main(): Promise<number> {
  const root = ROOTS[variant()];
  if (root === undefined) throw new Error(`unknown nest variant ${variant()}`);
  const app = await NestFactory.create(root, { logger: false });
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as { port: number }).port;
}

serve(main);
