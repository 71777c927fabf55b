import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { find, parseMetrics } from '@llmscope/testkit';
import { SECURITY_HEADERS } from '@llmscope/console';
import { createApp, LlmscopeConsoleService } from '../src/app';

/** Polls the console's API until `check` finds what it waits for (the store is fed when responses close, spans after them). */
async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The console in a NestJS 12 app, mounted the Nest way: a provider that gets the llmscope
 * instance of `LlmscopeModule.forRoot()` injected (the example's LlmscopeConsoleService). Served
 * by llmscope's own hook on each platform, before Nest's router: not app traffic.
 */
describe.each([['express'], ['fastify']] as const)('the console in the nestjs-rag example on %s', (platform) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const speed = process.env.SIM_LLM_SPEED;
    process.env.SIM_LLM_SPEED = '0';
    app = await createApp({ platform, judgeSampleRate: 1 });
    if (speed === undefined) delete process.env.SIM_LLM_SPEED;
    else process.env.SIM_LLM_SPEED = speed;
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    server.keepAliveTimeout = 100;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  test('page and API on the app\'s port; the request listed with its route, cost and trace (RAG steps, the priced LLM call); console requests are not app traffic', async () => {
    expect(app.get(LlmscopeConsoleService).console.enabled).toBe(true);
    const chat = await request(url).post('/chat').set('x-user-id', 'alice').set('x-session-id', 's-1').send({ question: 'How much does Orbit Notes Pro cost?' }).expect(200);
    const traceId = chat.body.traceId as string;

    const page = await request(url).get('/llmscope').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(SECURITY_HEADERS['content-security-policy']);
    await request(url).get('/llmscope/assets/app.js').expect(200).expect('content-type', /javascript/);

    const listed = await eventually(async () => {
      const r = (await request(url).get('/llmscope/api/requests').expect(200)).body.requests as Array<Record<string, unknown>>;
      return r.length === 1 ? r[0] : undefined;
    }, 'the request in the list');
    expect(listed).toMatchObject({ id: traceId, method: 'POST', route: '/chat', status: 200, userId: 'alice', sessionId: 's-1', feature: 'chat', llmCalls: 1 });
    // The example prices the simulated model on every platform.
    expect(listed.costUsd).toBeGreaterThan(0);

    const trace = await eventually(async () => {
      const t = (await request(url).get(`/llmscope/api/traces/${traceId}`).expect(200)).body as { spans: Array<{ name: string }>; calls: Array<Record<string, unknown>> };
      return t.spans.some((s) => s.name === 'POST /chat') ? t : undefined;
    }, 'the spans of the trace');
    expect(trace.spans.map((s) => s.name)).toEqual(expect.arrayContaining(['embed_query', 'vector_search', 'prompt_construction', 'chat sim-gpt', 'response_formatting']));
    expect(trace.calls[0]).toMatchObject({ model: 'sim-gpt', promptName: 'rag-answer', promptVersion: 'v1' });

    await request(url).get('/llmscope/api/requests?limit=x').expect(400);
    await request(url).post('/llmscope/api/requests').expect(405);
    // The app's routes and its 404 are unchanged; the console's requests are neither listed nor counted.
    await request(url).get('/nope').expect(404);
    expect((await request(url).get('/llmscope/api/requests').expect(200)).body.total).toBe(2);
    const metrics = parseMetrics((await request(url).get('/metrics').expect(200)).text);
    const routes = find(metrics, 'http_server_requests_total').map((s) => s.labels.route).sort();
    expect(routes.some((r) => String(r).startsWith('/llmscope'))).toBe(false);
  });
});
