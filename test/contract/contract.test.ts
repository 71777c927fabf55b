/**
 * One contract, every adapter: the same scenarios and assertions against each target.
 * An adapter that fails a scenario fails the suite.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Gauge, Registry } from 'prom-client';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BatchSpanProcessor, InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { BOOM_MESSAGE, contractIdentify, nextSlowStart, SLOW_MS, STREAM_EVENTS, STREAM_GAP_MS } from './scenario';
import type { ContractOptions, ContractTarget, RunningApp } from './target';
import { targets } from './targets';
import { compatibilityRows, testedNodeMajors } from './compatibility';
import { nestMajor } from '../compat/nest-major';

const exporter = memoryExporter();

function server(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.SERVER);
}

function seconds(span: ReadableSpan): number {
  return span.duration[0] + span.duration[1] / 1e9;
}

async function scrape(url: string, path = '/metrics', token?: string) {
  const req = request(url).get(path);
  if (token !== undefined) req.set('authorization', `Bearer ${token}`);
  const res = await req.expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

describe.each(targets.map((t) => [t.name, t] as [string, ContractTarget]))('%s', (_name, target) => {
  beforeEach(() => exporter.reset());

  /** Starts an app with `options` for one test and closes it after, whatever happens. */
  async function withApp<T>(options: ContractOptions | undefined, fn: (app: RunningApp) => Promise<T>): Promise<T> {
    const app = await target.start(options);
    try {
      return await fn(app);
    } finally {
      await app.close();
    }
  }

  describe('the scenario app, default options', () => {
    let app: RunningApp;

    beforeAll(async () => {
      app = await target.start();
    });
    afterAll(async () => {
      await app?.close();
    });

    const samples = () => scrape(app.url);

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
      const spans = await waitForSpans(exporter, (x) => server(x).length === 24);
      expect(spans.some((x) => x.name === 'GET /api/v1/items/:id' && x.attributes['http.route'] === '/api/v1/items/:id')).toBe(true);
    });

    test('user and session come from headers and from code', async () => {
      await request(app.url).get('/users/9').set('x-user-id', 'hdr-user').set('x-session-id', 'hdr-session').expect(200);
      await request(app.url).get('/tagged').set('x-user-id', 'someone-else').expect(200);
      const spans = server(await waitForSpans(exporter, (x) => server(x).length === 2));
      expect(spans.find((x) => x.name === 'GET /users/:id')?.attributes).toMatchObject({ 'user.id': 'hdr-user', 'session.id': 'hdr-session' });
      expect(spans.find((x) => x.name === 'GET /tagged')?.attributes).toMatchObject({ 'user.id': 'code-user', 'session.id': 'code-session', 'llmscope.tag.tier': 'paid' });
    });

    test('an incoming traceparent is continued down to the LLM span and the trace id is returned', async () => {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const res = await request(app.url).post('/chat').set('traceparent', `00-${traceId}-b7ad6b7169203331-01`).send({ question: 'q' }).expect((r) => expect(r.status).toBeLessThan(300));
      expect(res.headers['x-trace-id']).toBe(traceId);
      const spans = await waitForSpans(exporter, (x) => server(x).length === 1 && x.length === 4);
      const [span] = server(spans);
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(span?.parentSpanContext?.isRemote).toBe(true);
      expect(spans.map((x) => x.spanContext().traceId)).toEqual([traceId, traceId, traceId, traceId]);
    });

    test('a malformed traceparent starts a new trace and the request is served', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      for (const bad of ['garbage', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-${traceId}-xyz-01`, `00-${traceId}-${'0'.repeat(16)}-01`, 'x'.repeat(10000)]) {
        const res = await request(app.url).get('/users/5').set('traceparent', bad).expect(200, { id: '5' });
        const [span] = server(await waitForSpans(exporter, (x) => server(x).length === 1));
        expect(span?.spanContext().traceId).not.toBe(traceId);
        expect(span?.parentSpanContext).toBeUndefined();
        expect(res.headers['x-trace-id']).toBe(span?.spanContext().traceId);
        exporter.reset();
      }
    });

    test('tracestate is kept on the server span\'s context and baggage is readable in the handler', async () => {
      const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
      const res = await request(app.url).get('/baggage')
        .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`)
        .set('tracestate', 'vendor=abc,other=1')
        .set('baggage', 'tenant=acme,plan=pro')
        .expect(200);
      expect(res.body).toEqual({ tenant: 'acme', traceState: 'vendor=abc,other=1' });
      const [span] = server(await waitForSpans(exporter, (x) => server(x).length === 1));
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.spanContext().traceState?.serialize()).toBe('vendor=abc,other=1');
      expect(span?.parentSpanContext?.traceState?.get('vendor')).toBe('abc');
    });

    test('RAG steps and the LLM span nest under the request span and carry the prompt version', async () => {
      await request(app.url).post('/chat').send({ question: 'what is llmscope?' }).expect((r) => expect(r.status).toBeLessThan(300));
      const spans = await waitForSpans(exporter, (x) => server(x).length === 1 && x.length === 4);
      const root = server(spans)[0] as ReadableSpan;
      expect(root.name).toBe('POST /chat');
      const children = spans.filter((x) => x.parentSpanContext?.spanId === root.spanContext().spanId)
        .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
      expect(children.map((x) => x.name)).toEqual(['embed_query', 'vector_search', 'chat contract-model']);
      expect(children[2]?.attributes).toMatchObject({ 'llmscope.prompt.name': 'answer', 'llmscope.prompt.version': 'v2', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 });
      const s = await samples();
      // Two /chat requests so far in this app (this one and the traceparent one), 10 + 5 tokens each.
      expect(find(s, 'llmscope_llm_tokens_total', { model: 'contract-model', token_type: 'input' })[0]?.value).toBe(20);
      expect(find(s, 'llmscope_llm_tokens_total', { model: 'contract-model', token_type: 'output' })[0]?.value).toBe(10);
      expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'contract-model', provider: 'contract', operation: 'chat', outcome: 'ok' })[0]?.value).toBe(2);
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

    test('bad identity values from code are ignored', async () => {
      const res = await request(app.url).get('/me').set('x-user-id', 'u-me').expect(200);
      expect(res.body).toEqual({ user: 'u-me', session: null });
    });

    test('a request the client abandons is still finished: span ended, in-flight gauge back to 0', async () => {
      const started = nextSlowStart();
      const abort = new AbortController();
      const pending = fetch(`${app.url}/slow`, { signal: abort.signal }).then((r) => `answered ${r.status}`, () => 'aborted');
      // The handler has started (or the request was answered without reaching it: a failure below).
      await Promise.race([started, pending]);
      abort.abort();
      expect(await pending).toBe('aborted');
      const spans = await waitForSpans(exporter, (x) => server(x).length === 1, SLOW_MS + 3000);
      expect(server(spans)[0]?.attributes['http.route']).toBe('/slow');
      // The handler may still be running; the gauge counts requests, and this one is over.
      await new Promise((r) => setTimeout(r, SLOW_MS + 50));
      const s = await samples();
      expect(find(s, 'http_server_active_requests')[0]?.value).toBe(0);
      expect(find(s, 'http_server_requests_total', { route: '/slow' }).reduce((n, x) => n + x.value, 0)).toBe(1);
    });

    test('a streamed (SSE) response is measured until the stream ends, with its status', async () => {
      const res = await request(app.url).get('/stream').buffer(true).parse((r, done) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => done(null, text));
      }).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect((res.body as string).match(/^data: .*$/gm)).toEqual(STREAM_EVENTS.map((e) => `data: ${e}`));
      const streamed = (STREAM_EVENTS.length * STREAM_GAP_MS) / 1000;
      const [span] = server(await waitForSpans(exporter, (x) => server(x).length === 1));
      expect(span?.name).toBe('GET /stream');
      expect(span?.attributes['http.response.status_code']).toBe(200);
      expect(seconds(span as ReadableSpan)).toBeGreaterThanOrEqual(streamed * 0.95);
      const s = await samples();
      expect(find(s, 'http_server_request_duration_seconds_count', { route: '/stream', method: 'GET', status_code: '200' })[0]?.value).toBe(1);
      expect(find(s, 'http_server_request_duration_seconds_sum', { route: '/stream', status_code: '200' })[0]?.value).toBeGreaterThanOrEqual(streamed * 0.95);
      // Every bucket below the stream's length is empty: the request was not measured at its headers.
      expect(find(s, 'http_server_request_duration_seconds_bucket', { route: '/stream', le: '0.1' })[0]?.value).toBe(0);
    });

    test('/metrics: no-store, HEAD without a body, a query string accepted, scrapes neither counted nor traced', async () => {
      const res = await request(app.url).get('/metrics?debug=1').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.headers['cache-control']).toBe('no-store');
      const head = await request(app.url).head('/metrics').expect(200);
      expect(head.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(head.text).toBeUndefined();
      const s = await samples();
      expect(s.filter((x) => x.name === 'http_server_requests_total' && x.labels.route?.includes('metrics'))).toEqual([]);
      await new Promise((r) => setTimeout(r, 50));
      expect(server(exporter.getFinishedSpans())).toEqual([]);
    });

    test('/metrics: other methods fall through to the app (here a 404), never the metrics', async () => {
      for (const method of ['post', 'put', 'delete'] as const) {
        const res = await request(app.url)[method]('/metrics').send({ a: 1 });
        expect(res.status).toBe(404);
        expect(res.headers['content-type'] ?? '').not.toMatch(/version=0\.0\.4/);
        expect(res.text ?? '').not.toContain('# TYPE');
      }
      const s = await samples();
      for (const method of ['POST', 'PUT', 'DELETE']) {
        expect(find(s, 'http_server_requests_total', { route: 'unmatched', method, status_code: '404' })[0]?.value).toBe(1);
      }
    });
  });

  describe('options', () => {
    test('metrics path and bearer token: 401 with a challenge, 200 with the token, nothing at /metrics', async () => {
      await withApp({ metrics: { path: '/internal/prom', bearerToken: 's3cret', defaultMetrics: false } }, async (app) => {
        const denied = await request(app.url).get('/internal/prom').expect(401);
        expect(denied.headers['www-authenticate']).toBe('Bearer realm="metrics"');
        expect(denied.text).not.toContain('# TYPE');
        await request(app.url).get('/internal/prom').set('authorization', 'Bearer wrong').expect(401);
        await request(app.url).get('/internal/prom').set('authorization', 'Basic czNjcmV0').expect(401);
        await request(app.url).head('/internal/prom').expect(401);
        await request(app.url).get('/users/1').expect(200);
        const s = await scrape(app.url, '/internal/prom', 's3cret');
        expect(find(s, 'process_cpu_user_seconds_total')).toHaveLength(0);
        expect(find(s, 'http_server_requests_total', { route: '/users/:id', status_code: '200' })[0]?.value).toBe(1);
        await request(app.url).get('/metrics').expect(404);
      });
    });

    test('metrics path false: no endpoint, metrics still recorded in the registry', async () => {
      const registry = new Registry();
      await withApp({ metrics: { path: false, registry, defaultMetrics: false } }, async (app) => {
        const res = await request(app.url).get('/metrics').expect(404);
        expect(res.text ?? '').not.toContain('# TYPE');
        await request(app.url).get('/users/1').expect(200);
        const s = parseMetrics(await registry.metrics());
        expect(find(s, 'http_server_requests_total', { route: 'unmatched', method: 'GET', status_code: '404' })[0]?.value).toBe(1);
        expect(find(s, 'http_server_requests_total', { route: '/users/:id', method: 'GET', status_code: '200' })[0]?.value).toBe(1);
      });
    });

    test('Accept: application/openmetrics-text gets OpenMetrics; no Accept gets the Prometheus text 0.0.4', async () => {
      await withApp({ metrics: { defaultMetrics: false } }, async (app) => {
        await request(app.url).get('/users/1').expect(200);
        const om = await request(app.url).get('/metrics').set('accept', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5').buffer(true).parse((res, cb) => {
          let text = '';
          res.on('data', (c: Buffer) => { text += c.toString(); });
          res.on('end', () => cb(null, text));
        }).expect(200);
        expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
        expect(String(om.body).endsWith('# EOF\n')).toBe(true);
        expect(String(om.body)).toMatch(/^http_server_requests_total\{[^}]*route="\/users\/:id"[^}]*\} 1$/m);
        const text = await request(app.url).get('/metrics').expect(200);
        expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(text.text).not.toContain('# EOF');
      });
    });

    test('metrics.port: the endpoint is served on its own port, not on the app port', async () => {
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as AddressInfo;
          probe.close(() => resolve(free));
        });
      });
      await withApp({ metrics: { defaultMetrics: false, port, host: '127.0.0.1' } }, async (app) => {
        await request(app.url).get('/users/1').expect(200);
        // The app's port: the metrics path is app traffic (the app's own 404).
        const onApp = await request(app.url).get('/metrics').expect(404);
        expect(onApp.text ?? '').not.toContain('# TYPE');
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(res.status).toBe(200);
        const s = parseMetrics(await res.text());
        expect(find(s, 'http_server_requests_total', { route: '/users/:id', status_code: '200' })[0]?.value).toBe(1);
        expect(find(s, 'http_server_requests_total', { route: 'unmatched', status_code: '404' })[0]?.value).toBe(1);
      });
    });

    test('metrics.exclude: excluded paths and predicates are answered by the app but neither counted nor traced', async () => {
      await withApp({ metrics: { defaultMetrics: false, exclude: ['/users/1', (method, path) => method === 'GET' && path === '/plain'] } }, async (app) => {
        const excluded = await request(app.url).get('/users/1?probe=1').expect(200);
        expect(excluded.headers['x-trace-id']).toBeUndefined();
        const plain = await request(app.url).get('/plain').set('x-user-id', 'carol').expect(200);
        // The request still has its context: only metrics and the span are skipped.
        expect(plain.body).toEqual({ user: 'carol' });
        expect(plain.headers['x-trace-id']).toBeUndefined();
        await request(app.url).get('/users/2').expect(200);
        const spans = server(await waitForSpans(exporter, (x) => server(x).length >= 1));
        await new Promise((r) => setTimeout(r, 50));
        expect(server(exporter.getFinishedSpans()).map((x) => x.attributes['url.path'])).toEqual(['/users/2']);
        expect(spans).toHaveLength(1);
        const s = await scrape(app.url);
        expect(find(s, 'http_server_requests_total').map((x) => [x.labels.route, x.value])).toEqual([['/users/:id', 1]]);
        expect(find(s, 'http_server_active_requests')[0]?.value).toBe(0);
      });
    });

    test('tracing false: no spans, no trace header; metrics, LLM metrics and context still work', async () => {
      await withApp({ tracing: false, metrics: { defaultMetrics: false } }, async (app) => {
        const res = await request(app.url).get('/plain').set('x-user-id', 'carol').expect(200);
        expect(res.body).toEqual({ user: 'carol' });
        expect(res.headers['x-trace-id']).toBeUndefined();
        await new Promise((r) => setTimeout(r, 50));
        expect(exporter.getFinishedSpans()).toHaveLength(0);
        const s = await scrape(app.url);
        expect(find(s, 'http_server_requests_total', { route: '/plain', status_code: '200' })[0]?.value).toBe(1);
        expect(find(s, 'llmscope_llm_tokens_total', { model: 'plain-model', token_type: 'input' })[0]?.value).toBe(3);
        expect(find(s, 'llmscope_llm_tokens_total', { model: 'plain-model', token_type: 'output' })[0]?.value).toBe(4);
      });
    });

    test('identify(): its user is clipped to maxValueLength, a non-string session dropped, a throw leaves the request anonymous', async () => {
      await withApp({ identify: contractIdentify, maxValueLength: 16, metrics: { defaultMetrics: false } }, async (app) => {
        const r1 = await request(app.url).get('/me').set('x-api-user', 'x'.repeat(5000)).set('x-user-id', 'header-ignored').expect(200);
        expect(r1.body).toEqual({ user: 'x'.repeat(16), session: null });
        const r2 = await request(app.url).get('/me').set('x-explode', '1').set('x-user-id', 'header-ignored').expect(200);
        expect(r2.body).toEqual({ user: null, session: null });
        const spans = server(await waitForSpans(exporter, (x) => server(x).length === 2));
        expect(spans.map((x) => x.attributes['user.id'])).toEqual(['x'.repeat(16), undefined]);
        expect(spans.map((x) => x.attributes['session.id'])).toEqual([undefined, undefined]);
      });
    });

    test('two apps in one process keep their own registries and do not collide', async () => {
      await withApp({ metrics: { defaultMetrics: false } }, async (a) => {
        await withApp({ metrics: { defaultMetrics: false } }, async (b) => {
          await request(a.url).get('/users/1').expect(200);
          await request(a.url).get('/users/2').expect(200);
          await request(b.url).get('/users/3').expect(200);
          await request(b.url).get('/boom').expect(500);
          const sa = await scrape(a.url);
          const sb = await scrape(b.url);
          expect(find(sa, 'http_server_requests_total').map((x) => `${x.labels.route} ${x.labels.status_code} ${x.value}`)).toEqual(['/users/:id 200 2']);
          expect(find(sb, 'http_server_requests_total').map((x) => `${x.labels.route} ${x.labels.status_code} ${x.value}`).sort()).toEqual(['/boom 500 1', '/users/:id 200 1']);
        });
      });
    });

    test('/metrics with a throwing collector answers 500 with the reason; the app keeps serving', async () => {
      const registry = new Registry();
      new Gauge({ name: 'app_flaky', help: 'throws on collect', registers: [registry], collect() { throw new Error('collector down'); } });
      await withApp({ metrics: { registry, defaultMetrics: false } }, async (app) => {
        const res = await request(app.url).get('/metrics').expect(500);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.text).toBe('metrics collection failed: collector down\n');
        await request(app.url).get('/users/1').expect(200, { id: '1' });
        const recorded = await registry.getSingleMetric('http_server_requests_total')?.get();
        expect(recorded?.values.filter((v) => v.labels.route === '/users/:id').map((v) => v.value)).toEqual([1]);
      });
    });

    test('the feedback route: authorize, validation, size and type limits, a human score with the trace\'s prompt version; not app traffic', async () => {
      const authorize = (req: unknown): boolean => (req as { headers: Record<string, unknown> }).headers['x-reviewer'] === 'yes';
      await withApp({ metrics: { defaultMetrics: false }, evaluations: { feedback: { authorize, maxBodyBytes: 512 } } }, async (app) => {
        const chat = await request(app.url).post('/chat').send({ question: 'q' });
        const traceId = chat.headers['x-trace-id'] as string;
        const post = (body: unknown) => request(app.url).post('/llmscope/feedback').set('x-reviewer', 'yes').send(body as object);
        await request(app.url).post('/llmscope/feedback').send({ traceId, name: 'thumbs', value: 1 }).expect(403, { error: 'not allowed to post feedback' });
        const ok = await post({ traceId, name: 'thumbs', value: 1, comment: 'great answer' }).expect(202);
        expect(ok.headers['cache-control']).toBe('no-store');
        expect(ok.body).toEqual({ accepted: true, traceId, name: 'thumbs' });
        await post({ traceId, name: 'thumbs', value: 1, user: 'me' }).expect(400, { error: 'unknown field `user`; expected traceId, spanId, name, value, comment' });
        await post({ name: 'thumbs', value: 1 }).expect(400, { error: '`traceId` is required (the x-trace-id response header of the answer)' });
        await post({ traceId: 'abc', name: 'thumbs', value: 1 }).expect(400, { error: '`traceId` must be 32 lower-case hex characters (the x-trace-id header)' });
        await post({ traceId, name: 'thumbs', value: { nested: true } }).expect(400);
        await post({ traceId, name: 'thumbs', value: 1, comment: 'x'.repeat(600) }).expect(413);
        await request(app.url).post('/llmscope/feedback').set('x-reviewer', 'yes').set('content-type', 'text/plain').send('thumbs up').expect(415);
        const s = await scrape(app.url);
        expect(find(s, 'llmscope_quality_score_count', { name: 'thumbs', evaluator: 'feedback', source: 'human', prompt_name: 'answer', prompt_version: 'v2' })[0]?.value).toBe(1);
        expect(find(s, 'llmscope_quality_score_sum', { name: 'thumbs' })[0]?.value).toBe(1);
        expect(find(s, 'http_server_requests_total').map((x) => x.labels.route)).toEqual(['/chat']);
      });
    });

    test('the feedback route: a rate limit per client answers 429 with Retry-After; off by default', async () => {
      await withApp({ metrics: { defaultMetrics: false } }, async (app) => {
        await request(app.url).post('/llmscope/feedback').send({ name: 'thumbs', value: 1 }).expect(404);
      });
      await withApp({ metrics: { defaultMetrics: false }, evaluations: { feedback: { ratePerMinute: 2 } } }, async (app) => {
        const traceId = '0af7651916cd43dd8448eb211c80319c';
        for (let i = 0; i < 2; i++) await request(app.url).post('/llmscope/feedback').send({ traceId, name: 'thumbs', value: 0 }).expect(202);
        const limited = await request(app.url).post('/llmscope/feedback').send({ traceId, name: 'thumbs', value: 0 }).expect(429);
        expect(limited.headers['retry-after']).toBe('30');
      });
    });

    test('a metric name of the app\'s registry that clashes with llmscope\'s fails at start-up, naming it', async () => {
      const registry = new Registry();
      new Gauge({ name: 'http_server_requests_total', help: 'the app\'s own', registers: [registry] });
      await expect(target.start({ metrics: { registry, defaultMetrics: false } })).rejects.toThrow(/already has a metric named http_server_requests_total of another type/);
    });
  });
});

const flushingTargets = targets.filter((t) => t.closeFlushes === true);

describe.each(flushingTargets.map((t) => [t.name, t] as [string, ContractTarget]))('%s: app.close()', (_name, target) => {
  test('flushes spans still buffered in an exporter', async () => {
    const buffered = new InMemorySpanExporter();
    // A batch processor that would hold its spans for a minute: only a flush delivers them.
    const processor = new BatchSpanProcessor(buffered, { scheduledDelayMillis: 60_000, maxQueueSize: 1000, maxExportBatchSize: 1000 });
    const app = await target.start({ tracing: { spanProcessors: [processor] }, sampling: false, metrics: { defaultMetrics: false } });
    let closed = false;
    try {
      await request(app.url).post('/chat').send({ question: 'flush me' }).expect((r) => expect(r.status).toBeLessThan(300));
      await waitForSpans(exporter, (x) => server(x).some((s) => s.name === 'POST /chat'));
      await new Promise((r) => setTimeout(r, 50));
      expect(buffered.getFinishedSpans().filter((s) => s.name === 'POST /chat')).toHaveLength(0);
      await app.close();
      closed = true;
      const names = buffered.getFinishedSpans().map((s) => s.name);
      expect(names.filter((n) => n === 'POST /chat')).toHaveLength(1);
      expect(names.filter((n) => ['embed_query', 'vector_search', 'chat contract-model'].includes(n)).sort()).toEqual(['chat contract-model', 'embed_query', 'vector_search']);
    } finally {
      if (!closed) await app.close();
      await processor.shutdown();
    }
  });
});

// docs/compatibility.md is a claim; each target holds its row to what really ran, on this Node.
describe('docs/compatibility.md', () => {
  const rows = compatibilityRows();

  test.each(targets.map((t) => [t.name, t] as [string, ContractTarget]))('%s: its row states the framework version and the Node that ran', (name, target) => {
    const row = rows.find((r) => r.target === name);
    expect(row).toBeDefined();
    const { name: framework, version } = target.framework();
    expect(row!.framework).toBe(framework);
    // "tested" is major.minor (a patch from the lock file need not touch the page); Node's own row says "Node's".
    if (framework === 'node:http') expect(row!.tested).toBe("Node's");
    else expect(`${version}.`.startsWith(`${row!.tested}.`)).toBe(true);
    expect(row!.node).toContain(Number(process.versions.node.split('.')[0]));
  });

  test('every row is a target that some contract project runs, on the Node majors the version script runs', () => {
    // The main project runs `targets`; contract-nest10 / contract-nest11 run the Nest targets on those majors.
    const nestOthers = ['10', '11'].flatMap((m) => [`nest${m}-express`, `nest${m}-fastify`]);
    const run = nestMajor() === '12' ? [...targets.map((t) => t.name), ...nestOthers] : targets.map((t) => t.name);
    const expected = nestMajor() === '12' ? rows : rows.filter((r) => r.target.startsWith(`nest${nestMajor()}-`));
    expect(expected.map((r) => r.target).sort()).toEqual([...run].filter((n) => nestMajor() === '12' || n.startsWith(`nest${nestMajor()}-`)).sort());
    for (const row of rows) expect(row.node).toEqual(testedNodeMajors());
  });
});
