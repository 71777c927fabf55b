import type { AddressInfo } from 'node:net';
import { printBanner } from '../../shared/src';
import { createApp } from './app';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3001);
  const app = await createApp();
  // All interfaces, so that it answers inside a container too.
  await app.listen({ port, host: process.env.HOST ?? '0.0.0.0' });
  // With PORT=0 the system picks the port; show the real one.
  printBanner({ framework: 'Fastify', port: (app.server.address() as AddressInfo).port, console: app.llmscopeConsole });

  // Ctrl+C or a container stop: Fastify finishes the requests in flight, llmscope flushes its spans.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.close().then(() => process.exit(0), () => process.exit(1));
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
