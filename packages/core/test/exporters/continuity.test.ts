import express from 'express';
import Fastify from 'fastify';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { llmscope as fastifyLlmscope } from '@llmscope/fastify';
import { llmscope as expressLlmscope } from '@llmscope/express';
import { OtlpReceiver, listen } from '@llmscope/testkit';

test('trace continuity: Fastify service A calls Express service B; one trace id, B\'s server span a child of A\'s client span', async () => {
  const receiver = await new OtlpReceiver().start();
  // Service B (Express). In production it runs in its own process with its own exporter; here
  // both services share the process, so A's exporter (process-wide) carries B's spans too.
  const b = express();
  const bScope = expressLlmscope({ serviceName: 'service-b', metrics: false, exporters: false });
  b.use(bScope);
  b.get('/answer/:id', (_req, res) => {
    res.json({ answer: 42 });
  });
  const bServer = await listen(b);

  // Service A (Fastify): calls B inside a CLIENT span and propagates the context (traceparent),
  // as @opentelemetry/instrumentation-http or undici instrumentation would.
  const a = Fastify();
  await a.register(fastifyLlmscope, { serviceName: 'service-a', metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
  a.get('/ask', async () => {
    const tracer = trace.getTracer('service-a-http-client');
    return tracer.startActiveSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET', 'server.address': '127.0.0.1' } }, async (span) => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      const res = await fetch(`${bServer.url}/answer/7`, { headers });
      span.setAttribute('http.response.status_code', res.status);
      const body = await res.json() as { answer: number };
      span.end();
      return body;
    });
  });
  await a.listen({ port: 0, host: '127.0.0.1' });
  try {
    const address = a.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const res = await fetch(`http://127.0.0.1:${port}/ask`);
    expect(await res.json()).toEqual({ answer: 42 });
    const traceId = res.headers.get('x-trace-id');
    await a.llmscope.shutdown();

    const spans = receiver.trace(traceId ?? '');
    expect(spans).toHaveLength(3);
    const aServer = spans.find((s) => s.name === 'GET /ask');
    const aClient = spans.find((s) => s.kind === 3);
    const bServerSpan = spans.find((s) => s.name === 'GET /answer/:id');
    expect(aServer?.kind).toBe(2);
    expect(aClient?.parentSpanId).toBe(aServer?.spanId);
    expect(bServerSpan?.kind).toBe(2);
    expect(bServerSpan?.parentSpanId).toBe(aClient?.spanId);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
  } finally {
    await a.close();
    await bServer.close();
    await bScope.llmscope.shutdown();
    await receiver.close();
  }
});
