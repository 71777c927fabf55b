/**
 * One contract, every adapter: the same scenarios and assertions against each target.
 * An adapter that fails a scenario fails the suite.
 */
import request from 'supertest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { BOOM_MESSAGE } from './scenario';
import type { ContractTarget, RunningApp } from './target';
import { targets } from './targets';

const exporter = memoryExporter();

function server(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.SERVER);
}

describe.each(targets.map((t) => [t.name, t] as [string, ContractTarget]))('%s', (_name, target) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await target.start();
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => exporter.reset());

  async function samples() {
    const res = await request(app.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(res.text);
  }

  test('route templates are bounded, prefixes included; 404 gets the unmatched value', async () => {
    await request(app.url).get('/users/1').expect(200);
    await request(app.url).get('/users/2').expect(200);
    await request(app.url).get('/api/v1/items/3').expect(200, { id: '3' });
    await request(app.url).get('/api/v1/items/4').expect(200);
    for (let i = 0; i < 20; i++) await request(app.url).get(`/missing/${i}`).expect(404);
    const s = await samples();
    expect(find(s, 'http_server_requests_total', { route: '/users/:id', method: 'GET', status_code: '200' })[0]?.value).toBe(2);
    expect(find(s, 'http_server_requests_total', { route: '/api/v1/items/:id', status_code: '200' })[0]?.value).toBe(2);
    expect(find(s, 'http_server_requests_total', { route: 'unmatched', status_code: '404' })[0]?.value).toBe(20);
    const routes = new Set(find(s, 'http_server_requests_total').map((x) => x.labels.route));
    for (const r of routes) expect(r === 'unmatched' || r?.includes(':') || !/\d/.test(r ?? '')).toBe(true);
    const spans = await waitForSpans(exporter, (x) => server(x).length >= 24);
    expect(spans.some((x) => x.name === 'GET /api/v1/items/:id' && x.attributes['http.route'] === '/api/v1/items/:id')).toBe(true);
  });

  test('user and session come from headers and from code', async () => {
    await request(app.url).get('/users/9').set('x-user-id', 'hdr-user').set('x-session-id', 'hdr-session').expect(200);
    await request(app.url).get('/tagged').set('x-user-id', 'someone-else').expect(200);
    const spans = server(await waitForSpans(exporter, (x) => server(x).length === 2));
    expect(spans.find((x) => x.name === 'GET /users/:id')?.attributes).toMatchObject({ 'user.id': 'hdr-user', 'session.id': 'hdr-session' });
    expect(spans.find((x) => x.name === 'GET /tagged')?.attributes).toMatchObject({ 'user.id': 'code-user', 'session.id': 'code-session', 'llmscope.tag.tier': 'paid' });
  });

  test('an incoming traceparent is continued and the trace id is returned', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await request(app.url).get('/users/5').set('traceparent', `00-${traceId}-b7ad6b7169203331-01`).expect(200);
    expect(res.headers['x-trace-id']).toBe(traceId);
    const [span] = server(await waitForSpans(exporter, (x) => server(x).length === 1));
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  });

  test('RAG steps and the LLM span nest under the request span and carry the prompt version', async () => {
    await request(app.url).post('/chat').send({ question: 'what is llmscope?' }).expect((r) => expect(r.status).toBeLessThan(300));
    const spans = await waitForSpans(exporter, (x) => server(x).length === 1 && x.length >= 4);
    const root = server(spans)[0] as ReadableSpan;
    expect(root.name).toBe('POST /chat');
    const children = spans.filter((x) => x.parentSpanContext?.spanId === root.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(children.map((x) => x.name)).toEqual(['embed_query', 'vector_search', 'chat contract-model']);
    expect(children[2]?.attributes).toMatchObject({ 'llmscope.prompt.name': 'answer', 'llmscope.prompt.version': 'v2', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 });
    const s = await samples();
    expect(find(s, 'llmscope_llm_tokens_total', { model: 'contract-model', token_type: 'input' })[0]?.value).toBeGreaterThanOrEqual(10);
  });

  test('a thrown error gives 500, an ERROR span with the exception and a 5xx metric', async () => {
    await request(app.url).get('/boom').expect(500);
    const [span] = server(await waitForSpans(exporter, (x) => server(x).length === 1));
    expect(span?.name).toBe('GET /boom');
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: BOOM_MESSAGE });
    expect(span?.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe(BOOM_MESSAGE);
    const s = await samples();
    expect(find(s, 'http_server_requests_total', { route: '/boom', status_code: '500' })[0]?.value).toBe(1);
  });
});
