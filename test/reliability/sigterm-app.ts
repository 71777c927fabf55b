/**
 * Run by shutdown-under-load.test.ts in a child process: one adapter's app (`ADAPTER`: express,
 * fastify, nest, node) deployed with nothing but `OTEL_EXPORTER_OTLP_ENDPOINT` set, so that
 * llmscope alone listens for SIGTERM. `GET /act` runs a step and an LLM call; with
 * `x-action: slow` it first waits 1.5 s (and says `started slow` on stdout), a request still
 * running when the signal comes. Batches are held a minute: what arrives, the signal flushed.
 */
import { adapters, shutdownWork } from './apps';

async function work(id: string): Promise<unknown> {
  if (id === 'slow') {
    process.stdout.write('started slow\n');
    await new Promise((r) => setTimeout(r, 1500));
  }
  return shutdownWork();
}

async function main(): Promise<void> {
  const adapter = adapters.find((a) => a.name === process.env.ADAPTER);
  if (adapter === undefined) throw new Error(`ADAPTER must be one of ${adapters.map((a) => a.name).join(', ')}`);
  const app = await adapter.start({ metrics: false, exporters: { queue: { scheduledDelayMs: 60000, maxQueueSize: 100000, maxBatchSize: 512 } } }, work);
  process.stdout.write(`ready ${new URL(app.url).port} ${process.listenerCount('SIGTERM')}\n`);
}

void main();
