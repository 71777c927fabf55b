import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { printBanner } from '../../shared/src';
import { createApp, LlmscopeConsoleService } from './app';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3002);
  const platform = process.env.NEST_PLATFORM === 'fastify' ? 'fastify' : 'express';
  const app = await createApp({ platform });
  // Ctrl+C or a container stop: Nest closes the server and llmscope flushes its spans.
  app.enableShutdownHooks();
  await app.listen(port);
  // With PORT=0 the system picks the port; show the real one.
  printBanner({ framework: `NestJS (${platform})`, port: ((app.getHttpServer() as Server).address() as AddressInfo).port, console: app.get(LlmscopeConsoleService).console });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
