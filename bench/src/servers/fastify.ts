import { AsyncLocalStorage } from 'node:async_hooks';
import Fastify from 'fastify';
import fastifyMetrics from 'fastify-metrics';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { llmscope } from '@llmscope/fastify';
import { otlpUrl, serve, spin, variant } from '../harness';

async function main(): Promise<number> {
  const app = Fastify({ logger: false });
  switch (variant()) {
    case 'bare':
      break;
    case 'llmscope-metrics':
      await app.register(llmscope, { tracing: false });
      break;
    case 'llmscope-full':
      // Every trace exported (tail sampling off), like the OTel peer: the same export volume.
      await app.register(llmscope, { exporters: { otlp: { url: otlpUrl() } }, sampling: { tail: false } });
      break;
    case 'llmscope-soak':
      // The memory soak: every exporter on, every backend a dead port, every trace exported.
      await app.register(llmscope, {
        exporters: {
          otlp: { url: 'http://127.0.0.1:1/v1/traces' },
          langfuse: { baseUrl: 'http://127.0.0.1:1', publicKey: 'pk-lf-bench', secretKey: 'sk-lf-bench' },
          sentry: { dsn: 'http://public@127.0.0.1:1/1' },
        },
        sampling: { tail: false },
      });
      app.get('/boom', async () => {
        throw new Error('soak error');
      });
      break;
    case 'llmscope-defaults':
      // Options left at their defaults: tracing on, tail sampling; exports only when the bench
      // sets OTEL_EXPORTER_OTLP_ENDPOINT (the "defaults + OTLP exporter" row).
      await app.register(llmscope);
      break;
    case 'hook':
      // Control: an empty onRequest hook, the least any per-request plugin adds.
      app.addHook('onRequest', (_req, _reply, done) => done());
      break;
    case 'als': {
      // Control: a context that follows every await, and nothing else (AsyncLocalStorage.run around the rest of the request).
      const als = new AsyncLocalStorage<{ user: string | undefined }>();
      app.addHook('onRequest', (req, _reply, done) => als.run({ user: req.headers['x-user-id'] as string | undefined }, done));
      break;
    }
    case 'spin':
      // Control: a known amount of pure user-mode work per request (docs/performance.md).
      app.addHook('onRequest', (_req, _reply, done) => {
        spin();
        done();
      });
      break;
    case 'fastify-metrics':
      await app.register(fastifyMetrics, { endpoint: '/metrics' });
      break;
    case 'fastify-otel': {
      const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl() }))] });
      provider.register();
      const instrumentation = new FastifyOtelInstrumentation();
      instrumentation.setTracerProvider(provider);
      await app.register(instrumentation.plugin());
      break;
    }
    default:
      throw new Error(`unknown fastify variant ${variant()}`);
  }
  app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id, name: 'Ada' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

serve(main);
