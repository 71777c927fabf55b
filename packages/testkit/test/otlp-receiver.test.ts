import { gzipSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OtlpReceiver } from '../src';

/** Real SDK spans (a local provider: nothing global), a server span with a client child. */
function makeSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc-a' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('test-scope', '1.2.3');
  tracer.startActiveSpan('GET /chat', { kind: SpanKind.SERVER, attributes: { 'http.route': '/chat', 'http.response.status_code': 200, ratio: 0.5, ok: true, tags: ['a', 'b'] } }, (root) => {
    const child = tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.usage.input_tokens': 12 } }, trace.setSpan(context.active(), root));
    child.addEvent('exception', { 'exception.message': 'boom' });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    child.end();
    root.end();
  });
  return memory.getFinishedSpans();
}

function exportWith(exporter: OTLPTraceExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe('OtlpReceiver', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await new OtlpReceiver().start();
  });
  afterEach(() => receiver.close());

  function checkDecoded(): void {
    expect(receiver.spans).toHaveLength(2);
    const root = receiver.spans.find((s) => s.name === 'GET /chat');
    const child = receiver.spans.find((s) => s.name === 'chat gpt-4o-mini');
    expect(root?.kind).toBe(2);
    expect(root?.parentSpanId).toBe('');
    expect(root?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root?.attributes).toMatchObject({ 'http.route': '/chat', 'http.response.status_code': 200, ratio: 0.5, ok: true, tags: ['a', 'b'] });
    expect(root?.resource['service.name']).toBe('svc-a');
    expect(root?.scope).toEqual({ name: 'test-scope', version: '1.2.3' });
    expect(child?.kind).toBe(3);
    expect(child?.traceId).toBe(root?.traceId);
    expect(child?.parentSpanId).toBe(root?.spanId);
    expect(child?.status).toEqual({ code: 2, message: 'boom' });
    expect(child?.events[0]).toEqual({ name: 'exception', attributes: { 'exception.message': 'boom' } });
  }

  it('decodes OTLP/JSON sent by the real OTLP/HTTP exporter', async () => {
    const exporter = new OTLPTraceExporter({ url: receiver.tracesUrl });
    const result = await exportWith(exporter, makeSpans());
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    checkDecoded();
    expect(receiver.exportHeaders[0]?.['content-type']).toContain('application/json');
    await exporter.shutdown();
  });

  it('decodes OTLP protobuf (the SDK serializer), plain and gzipped', async () => {
    const body = ProtobufTraceSerializer.serializeRequest(makeSpans()) as Uint8Array;
    const plain = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    expect(plain.status).toBe(200);
    checkDecoded();
    receiver.spans.length = 0;
    const zipped = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: gzipSync(body) });
    expect(zipped.status).toBe(200);
    checkDecoded();
  });

  it('rejects a body that is not OTLP with 400', async () => {
    const res = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ scopeSpans: 'not a list' }] }) });
    expect(res.status).toBe(400);
    expect(receiver.spans).toHaveLength(0);
  });

  it('fails with 500, hangs, and answers slowly on demand', async () => {
    receiver.mode = 'fail';
    const exporter = new OTLPTraceExporter({ url: receiver.tracesUrl, timeoutMillis: 300 });
    expect((await exportWith(exporter, makeSpans())).code).toBe(ExportResultCode.FAILED);

    receiver.mode = 'hang';
    const started = Date.now();
    expect((await exportWith(exporter, makeSpans())).code).toBe(ExportResultCode.FAILED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    receiver.mode = 'slow';
    receiver.delayMs = 150;
    const slowStart = Date.now();
    const res = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    expect(Date.now() - slowStart).toBeGreaterThanOrEqual(140);
    expect(receiver.spans).toHaveLength(0);
    await exporter.shutdown();
  });

  it('close() ends requests held by hang mode', async () => {
    receiver.mode = 'hang';
    const pending = fetch(receiver.tracesUrl, { method: 'POST', body: '{}' }).then(() => 'answered', () => 'closed');
    await new Promise((r) => setTimeout(r, 50));
    await receiver.close();
    await expect(pending).resolves.toBe('closed');
  });
});
