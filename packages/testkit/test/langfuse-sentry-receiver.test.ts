import { gzipSync } from 'node:zlib';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { NodeClient, Scope, defaultStackParser, makeNodeTransport } from '@sentry/node';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { LangfuseServer, SentryServer, parseEnvelope } from '../src';

describe('LangfuseServer', () => {
  let server: LangfuseServer;
  beforeEach(async () => {
    server = await new LangfuseServer().start();
  });
  afterEach(() => server.close());

  it('receives spans from the real @langfuse/otel processor, Basic auth checked', async () => {
    const processor = new LangfuseSpanProcessor({ publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.url, exportMode: 'immediate', mediaUploadEnabled: false });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const span = provider.getTracer('t').startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 3 } });
    span.end();
    await provider.forceFlush();
    const spans = await server.waitForSpans((s) => s.length === 1);
    expect(spans[0]?.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
    expect(server.unauthorized).toBe(0);
    await provider.shutdown();
  });

  it('answers 401 to wrong credentials, like Langfuse', async () => {
    const bad = await fetch(`${server.url}/api/public/otel/v1/traces`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('pk-lf-test:wrong').toString('base64')}`, 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(401);
    const none = await fetch(`${server.url}/api/public/scores`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(server.unauthorized).toBe(2);
  });

  it('serves prompts by version and label, and stores scores', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'Answer with {{context}}', labels: [] });
    server.addPrompt({ name: 'rag-answer', prompt: 'Answer briefly with {{context}}', labels: ['production'] });
    const auth = { authorization: `Basic ${Buffer.from(`${server.publicKey}:${server.secretKey}`).toString('base64')}` };
    const byLabel = await (await fetch(`${server.url}/api/public/v2/prompts/rag-answer`, { headers: auth })).json() as { version: number; prompt: string };
    expect(byLabel).toMatchObject({ version: 2, prompt: 'Answer briefly with {{context}}' });
    const v1 = await (await fetch(`${server.url}/api/public/v2/prompts/rag-answer?version=1`, { headers: auth })).json() as { version: number };
    expect(v1.version).toBe(1);
    expect((await fetch(`${server.url}/api/public/v2/prompts/missing`, { headers: auth })).status).toBe(404);

    const res = await fetch(`${server.url}/api/public/scores`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'helpfulness', value: 0.8, traceId: 'abc' }) });
    expect(res.status).toBe(200);
    const { id } = await res.json() as { id: string };
    expect(server.scores).toEqual([expect.objectContaining({ id, name: 'helpfulness', value: 0.8, traceId: 'abc' })]);
  });

  it('can fail with 500', async () => {
    server.mode = 'fail';
    const res = await fetch(`${server.url}/api/public/scores`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
  });
});

describe('SentryServer', () => {
  let server: SentryServer;
  beforeEach(async () => {
    server = await new SentryServer().start();
  });
  afterEach(() => server.close());

  it('receives an event and an attachment from the real @sentry/node client', async () => {
    const client = new NodeClient({ dsn: server.dsn, transport: makeNodeTransport, stackParser: defaultStackParser, integrations: [], enableRuntimeChannelInjection: false });
    client.init();
    const scope = new Scope();
    scope.setClient(client);
    scope.setUser({ id: 'u-1' });
    scope.setTag('route', '/chat');
    scope.addAttachment({ filename: 'out.txt', data: 'raw model output\nwith a newline' });
    client.captureException(new Error('kaput'), undefined, scope);
    await client.flush(2000);
    const events = await server.waitForEvents((e) => e.length === 1);
    expect(events[0]?.exception?.values?.[0]).toMatchObject({ type: 'Error', value: 'kaput' });
    expect(events[0]?.user).toMatchObject({ id: 'u-1' });
    expect(events[0]?.tags).toMatchObject({ route: '/chat' });
    const attachment = server.items.find((i) => i.header.type === 'attachment');
    expect(attachment?.header.filename).toBe('out.txt');
    expect(String(attachment?.payload)).toBe('raw model output\nwith a newline');
    await client.close(1000);
  });

  it('accepts gzipped envelopes and rejects a wrong key', async () => {
    const envelope = `${JSON.stringify({ event_id: 'e1' })}\n${JSON.stringify({ type: 'event' })}\n${JSON.stringify({ message: 'hello' })}\n`;
    const url = `${server.url}/api/1/envelope/`;
    const ok = await fetch(`${url}?sentry_key=testkey`, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: gzipSync(envelope) });
    expect(ok.status).toBe(200);
    expect(server.events).toEqual([{ message: 'hello' }]);
    const bad = await fetch(url, { method: 'POST', headers: { 'x-sentry-auth': 'Sentry sentry_version=7, sentry_key=nope' }, body: envelope });
    expect(bad.status).toBe(401);
  });

  it('parses items with an explicit length (binary payloads)', () => {
    const payload = Buffer.from([0x00, 0x0a, 0xff]);
    const body = Buffer.concat([Buffer.from('{}\n{"type":"attachment","length":3}\n'), payload, Buffer.from('\n{"type":"event"}\n{"a":1}')]);
    const parsed = parseEnvelope(body);
    expect(parsed.items).toHaveLength(2);
    expect(parsed.items[0]?.payload).toEqual(payload);
    expect(parsed.items[1]?.payload).toEqual({ a: 1 });
  });
});
