import Fastify from 'fastify';
import fastifyMetrics from 'fastify-metrics';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { llmscope } from '@llmscope/fastify';
import { otlpUrl, serve, variant } from '../harness';

async function main(): Promise<number> {
  const app = Fastify({ logger: false });
  switch (variant()) {
    case 'bare':
      break;
    case 'llmscope-metrics':
      await app.register(llmscope, { tracing: false });
      break;
    case 'llmscope-full':
      await app.register(llmscope, { tracing: { spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl() }))] } });
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
