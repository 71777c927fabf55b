import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Request } from 'express';
import request from 'supertest';
import { Counter, Registry } from 'prom-client';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { llmscope, getContext, setUser, setSession, tag, step, traceLLM, LlmscopeConfigError, type LlmscopeMiddleware } from '../src';
import { memoryExporter, waitForSpans, find, parseMetrics, waitFor } from '@llmscope/testkit';
import { closeServed, serve, serverSpan } from './serve';

const exporter = memoryExporter();
afterEach(() => exporter.reset());
afterAll(closeServed);

async function metrics(url: string) {
  const res = await request(url).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

function usersApp(): { app: express.Express; mw: LlmscopeMiddleware } {
  const app = express();
  const mw = llmscope();
  app.use(mw);
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const api = express.Router();
  api.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const v1 = express.Router();
  const users = express.Router();
  users.get('/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  users.get('/', (_req, res) => {
    res.json([]);
  });
  v1.use('/users', users);
  api.use('/v1', v1);
  app.use('/api', api);
  const orgs = express.Router({ mergeParams: true });
  orgs.get('/members/:memberId', (_req, res) => {
    res.send('ok');
  });
  app.use('/orgs/:orgId', orgs);
  const admin = express();
  admin.get('/stats/:day', (_req, res) => {
    res.send('stats');
  });
  app.use('/admin', admin);
  return { app, mw };
}

describe('metrics', () => {
  test('/metrics returns Prometheus text with one series per route template', async () => {
    const url = await serve(usersApp().app);
    await request(url).get('/users/1').expect(200);
    await request(url).get('/users/2').expect(200);
    const samples = await metrics(url);
    const series = find(samples, 'http_server_requests_total', { route: '/users/:id' });
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ labels: { method: 'GET', route: '/users/:id', status_code: '200' }, value: 2 });
    expect(find(samples, 'http_server_request_duration_seconds_count', { route: '/users/:id' })[0]?.value).toBe(2);
    expect(find(samples, 'http_server_active_requests')).toHaveLength(1);
    // Node default metrics are on by default.
    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    // Raw URLs never become labels.
    expect(samples.some((s) => s.labels.route === '/users/1')).toBe(false);
  });

  test('an app inside another, each with its own llmscope: each instance counts and finishes the request', async () => {
    const outer = express();
    const outerMw = llmscope({ metrics: { defaultMetrics: false } });
    outer.use(outerMw);
    const inner = express();
    const innerMw = llmscope({ metrics: { defaultMetrics: false } });
    inner.use(innerMw);
    let closed = 0;
    inner.get('/items/:id', (_req, res) => {
      // Added after llmscope's listeners: it runs after both have finished the request.
      res.on('close', () => closed++);
      res.send('ok');
    });
    outer.use('/inner', inner);
    const url = await serve(outer);
    await request(url).get('/inner/items/1').expect(200, 'ok');
    await request(url).get('/inner/items/2').expect(200, 'ok');
    // A response's 'close' follows its last byte.
    await waitFor(() => closed === 2, 10_000, 'both responses closed');
    for (const mw of [outerMw, innerMw]) {
      const samples = parseMetrics((await mw.llmscope.registry?.metrics()) ?? '');
      expect(find(samples, 'http_server_active_requests')[0]?.value).toBe(0);
      const total = find(samples, 'http_server_requests_total', { status_code: '200' }).reduce((sum, s) => sum + s.value, 0);
      expect(total).toBe(2);
    }
  });

  test('route templates include router mount paths, nested routers, params in mounts and sub-apps', async () => {
    const url = await serve(usersApp().app);
    await request(url).get('/api/users/7').expect(200);
    await request(url).get('/api/v1/users/8').expect(200);
    await request(url).get('/api/v1/users/9').expect(200);
    await request(url).get('/api/v1/users').expect(200);
    await request(url).get('/orgs/42/members/7').expect(200);
    await request(url).get('/orgs/43/members/8').expect(200);
    await request(url).get('/admin/stats/monday').expect(200);
    const routes = new Set(find(await metrics(url), 'http_server_requests_total').map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(['/admin/stats/:day', '/api/users/:id', '/api/v1/users', '/api/v1/users/:id', '/orgs/:orgId/members/:memberId']);
  });

  test('on a server made with the app\'s prototypes (docs/express.md, Node 20 and 22), routes, context and spans are as usual', async () => {
    const { app } = usersApp();
    let bornWithAppPrototypes: boolean | undefined;
    app.get('/whoami', (req, res) => {
      bornWithAppPrototypes = Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response;
      res.json({ user: getContext()?.userId ?? null });
    });
    // The docs' snippet: Express's per-request setPrototypeOf then changes nothing.
    function AppRequest(this: IncomingMessage, socket: Socket): void {
      IncomingMessage.call(this, socket);
    }
    AppRequest.prototype = app.request;
    function AppResponse(this: ServerResponse, req: IncomingMessage): void {
      ServerResponse.call(this, req);
    }
    AppResponse.prototype = app.response;
    const server = createServer({ IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await request(url).get('/whoami').set('x-user-id', 'ada').expect(200)).body).toEqual({ user: 'ada' });
      expect(bornWithAppPrototypes).toBe(true);
      await request(url).get('/api/v1/users/8').expect(200);
      await request(url).get('/admin/stats/monday').expect(200);
      const routes = find(await metrics(url), 'http_server_requests_total').map((s) => s.labels.route).sort();
      expect(routes).toEqual(['/admin/stats/:day', '/api/v1/users/:id', '/whoami']);
      const spans = await waitForSpans(exporter, (all) => all.filter((x) => x.kind === SpanKind.SERVER).length === 3);
      expect(serverSpan(spans, 'GET /whoami').attributes['user.id']).toBe('ada');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('1000 random unknown paths add at most one route value', async () => {
    const url = await serve(usersApp().app);
    await request(url).get('/users/1').expect(200);
    const agent = request(url);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => agent.get(`/nope/${i + j}/${Math.random().toString(36).slice(2)}`).expect(404)));
    }
    const samples = find(await metrics(url), 'http_server_requests_total');
    const routes = new Set(samples.map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(['/users/:id', 'unmatched']);
    expect(find(samples, 'http_server_requests_total', { route: 'unmatched', status_code: '404' })[0]?.value).toBe(1000);
  });

  test('an app registry is used when given, with the app\'s own metrics next to ours', async () => {
    const registry = new Registry();
    new Counter({ name: 'app_jobs_total', help: 'jobs', registers: [registry] }).inc(3);
    const app = express();
    app.use(llmscope({ metrics: { registry, defaultMetrics: false } }));
    app.use(llmscope({ metrics: { registry, path: '/m2', defaultMetrics: false } })); // same names reused, no clash
    const url = await serve(app);
    const samples = await metrics(url);
    expect(find(samples, 'app_jobs_total')[0]?.value).toBe(3);
  });
});

describe('context and identity', () => {
  test('user and session from headers and from setUser() appear on the server span', async () => {
    const app = express();
    app.use(llmscope());
    app.get('/headers', (_req, res) => {
      res.json(JSON.parse(JSON.stringify(getContext())));
    });
    app.get('/code', (_req, res) => {
      setUser('user-from-code');
      setSession('session-from-code');
      tag('tier', 'paid');
      tag('attempt', 2);
      tag('bad', { nested: true });
      res.send('ok');
    });
    const url = await serve(app);
    await request(url).get('/headers').set('x-user-id', 'u-1').set('x-session-id', 's-1').expect(200);
    await request(url).get('/code').set('x-user-id', 'u-2').expect(200);
    const spans = await waitForSpans(exporter, (s) => s.filter((x) => x.kind === SpanKind.SERVER).length === 2);
    expect(serverSpan(spans, 'GET /headers').attributes).toMatchObject({ 'user.id': 'u-1', 'session.id': 's-1', 'http.route': '/headers', 'http.response.status_code': 200 });
    const code = serverSpan(spans, 'GET /code').attributes;
    expect(code).toMatchObject({ 'user.id': 'user-from-code', 'session.id': 'session-from-code', 'llmscope.tag.tier': 'paid', 'llmscope.tag.attempt': 2 });
    expect(code['llmscope.tag.bad']).toBeUndefined();
  });

  test('context survives awaits, timers and body parsers placed before or after the middleware', async () => {
    const handler = async (req: Request, res: express.Response): Promise<void> => {
      const seen: (string | undefined)[] = [getContext()?.userId];
      await new Promise((r) => setTimeout(r, 5));
      seen.push(getContext()?.userId);
      await new Promise((r) => setImmediate(r));
      seen.push(getContext()?.userId);
      await Promise.all([1, 2].map(async () => {
        await null;
        seen.push(getContext()?.userId);
      }));
      res.json({ seen, body: req.body });
    };
    const after = express();
    after.use(llmscope());
    after.use(express.json());
    after.post('/chat', handler);
    const before = express();
    before.use(express.json());
    before.use(express.text());
    before.use(llmscope());
    before.post('/chat', handler);
    for (const app of [after, before]) {
      const url = await serve(app);
      // Two concurrent requests must not see each other's context.
      const [a, b] = await Promise.all([
        request(url).post('/chat').set('x-user-id', 'alice').send({ question: 'q' }).expect(200),
        request(url).post('/chat').set('x-user-id', 'bob').send({ question: 'r' }).expect(200),
      ]);
      expect(a.body).toEqual({ seen: ['alice', 'alice', 'alice', 'alice', 'alice'], body: { question: 'q' } });
      expect(b.body.seen).toEqual(['bob', 'bob', 'bob', 'bob', 'bob']);
    }
  });

  test('invalid options fail fast with a message that says what to change', () => {
    expect(() => llmscope({ metrics: { path: 'metrics' } })).toThrow(/metrics\.path.*must be a path starting with "\/"/);
    expect(() => llmscope({ tracing: { printtraces: true } as never })).toThrow(/unknown option `tracing\.printtraces`\. Did you mean `tracing\.printTraces`\?/);
    expect(() => llmscope({ traceIdHeader: 'bad header' })).toThrow(LlmscopeConfigError);
    expect(() => llmscope({ maxValueLength: 0 })).toThrow(/maxValueLength.*positive integer/);
    expect(() => llmscope({ metrics: { bearerToken: '' } })).toThrow(/bearerToken/);
  });
});

describe('tracing', () => {
  test('one SERVER span per request with HTTP semconv attributes and the trace id in the response', async () => {
    const url = await serve(usersApp().app);
    const res = await request(url).get('/api/v1/users/5?secret=1').expect(200);
    const spans = await waitForSpans(exporter, (s) => s.some((x) => x.kind === SpanKind.SERVER));
    const span = serverSpan(spans, 'GET /api/v1/users/:id');
    expect(res.headers['x-trace-id']).toBe(span.spanContext().traceId);
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET', 'http.route': '/api/v1/users/:id', 'url.path': '/api/v1/users/5', 'url.scheme': 'http', 'http.response.status_code': 200,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.instrumentationScope.name).toBe('@llmscope/core');
  });

  test('step() and traceLLM() spans nest under the request span, in order', async () => {
    const app = express();
    app.use(llmscope());
    app.use(express.json());
    app.post('/chat', async (req, res) => {
      setSession('conv-1');
      const vector = await step('embed_query', async () => [0.1, 0.2], { 'gen_ai.embeddings.dimension.count': 2 });
      const docs = step('vector_search', () => ['doc'], { 'gen_ai.data_source.id': 'kb' });
      const answer = await traceLLM({ model: 'sim-gpt', provider: 'simulated', temperature: 0.2 }, async () => {
        await step('tool_lookup', async () => undefined);
        return { id: 'cmpl-1', model: 'sim-gpt-0613', choices: [{ message: { content: 'hi' } }], usage: { prompt_tokens: 120, completion_tokens: 85 } };
      });
      res.json({ vector, docs, text: answer.choices[0]?.message.content, q: req.body.question });
    });
    const url = await serve(app);
    await request(url).post('/chat').send({ question: 'why' }).expect(200);
    const spans = await waitForSpans(exporter, (s) => s.some((x) => x.kind === SpanKind.SERVER));
    const server = serverSpan(spans, 'POST /chat');
    const children = spans.filter((s) => s.parentSpanContext?.spanId === server.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(children.map((s) => s.name)).toEqual(['embed_query', 'vector_search', 'chat sim-gpt']);
    const llm = children[2] as ReadableSpan;
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(llm.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'simulated', 'gen_ai.request.model': 'sim-gpt', 'gen_ai.request.temperature': 0.2,
      'gen_ai.response.model': 'sim-gpt-0613', 'gen_ai.response.id': 'cmpl-1', 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 85,
      'gen_ai.conversation.id': 'conv-1',
    });
    const tool = spans.find((s) => s.name === 'tool_lookup');
    expect(tool?.parentSpanContext?.spanId).toBe(llm.spanContext().spanId);
    expect(children[0]?.attributes['gen_ai.embeddings.dimension.count']).toBe(2);
    for (const s of spans) expect(s.spanContext().traceId).toBe(server.spanContext().traceId);

    const samples = await metrics(url);
    expect(find(samples, 'gen_ai_client_operation_duration_seconds_count', { model: 'sim-gpt', provider: 'simulated', operation: 'chat', outcome: 'ok' })[0]?.value).toBe(1);
    expect(find(samples, 'llmscope_llm_tokens_total', { model: 'sim-gpt', token_type: 'input' })[0]?.value).toBe(120);
    expect(find(samples, 'llmscope_llm_tokens_total', { model: 'sim-gpt', token_type: 'output' })[0]?.value).toBe(85);
  });

  test('thrown errors (sync, async, next(err)) give 500, an ERROR span with an exception event and 500 in the metrics', async () => {
    const app = express();
    app.use(llmscope());
    app.get('/sync', () => {
      throw new TypeError('sync boom');
    });
    app.get('/async', async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw new RangeError('async boom');
    });
    app.get('/next', (_req, _res, next) => {
      next(new Error('next boom'));
    });
    const router = express.Router();
    router.get('/deep', () => {
      throw new Error('deep boom');
    });
    app.use('/r', router);
    app.get('/handled', () => {
      throw Object.assign(new Error('bad input'), { status: 400 });
    });
    const url = await serve(app);
    for (const path of ['/sync', '/async', '/next', '/r/deep']) await request(url).get(path).expect(500);
    await request(url).get('/handled').expect(400);
    const spans = await waitForSpans(exporter, (s) => s.filter((x) => x.kind === SpanKind.SERVER).length === 5);
    for (const [name, message, type] of [['GET /sync', 'sync boom', 'TypeError'], ['GET /async', 'async boom', 'RangeError'], ['GET /next', 'next boom', 'Error'], ['GET /r/deep', 'deep boom', 'Error']] as const) {
      const span = serverSpan(spans, name);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.attributes['error.type']).toBe(type);
      const event = span.events.find((e) => e.name === 'exception');
      expect(event?.attributes?.['exception.message']).toBe(message);
    }
    const handled = serverSpan(spans, 'GET /handled');
    expect(handled.status.code).toBe(SpanStatusCode.UNSET);
    const samples = await metrics(url);
    for (const route of ['/sync', '/async', '/next', '/r/deep']) {
      expect(find(samples, 'http_server_requests_total', { route, status_code: '500' })[0]?.value).toBe(1);
    }
    expect(find(samples, 'http_server_requests_total', { route: '/handled', status_code: '400' })[0]?.value).toBe(1);
  });

  test('an error a mounted router passes out is recorded, though no layer follows it', async () => {
    const app = express();
    app.use(llmscope());
    const guard = express.Router();
    guard.use((_req, _res, next) => next(new Error('guard boom')));
    app.use('/guarded', guard);
    const url = await serve(app);
    await request(url).get('/guarded/x').expect(500);
    const spans = await waitForSpans(exporter, (s) => s.length === 1);
    expect(spans[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'guard boom' });
    expect(spans[0]?.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('guard boom');
  });

  test('user error handlers see the same error and keep their status', async () => {
    const app = express();
    app.use(llmscope());
    app.get('/fail', () => {
      throw new Error('db down');
    });
    app.use((err: Error, _req: Request, res: express.Response, _next: express.NextFunction) => {
      res.status(503).json({ error: err.message });
    });
    const url = await serve(app);
    const res = await request(url).get('/fail').expect(503);
    expect(res.body).toEqual({ error: 'db down' });
    const spans = await waitForSpans(exporter, (s) => s.length === 1);
    expect(spans[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'db down' });
  });

});

describe('an app whose router is neither Express 4\'s nor Express 5\'s', () => {
  test('requests still succeed and are recorded, and a warning says why', async () => {
    const app = express();
    const mw = llmscope({ tracing: false, metrics: { defaultMetrics: false } });
    // Stand in an app whose `router` getter throws (as Express 4's does) and that has no Express 4
    // `_router` either: a router llmscope does not know.
    const fake = (req: Request, res: express.Response, next: express.NextFunction): void => {
      Object.defineProperty(req, 'app', { value: { get router() { throw new Error('\'app.router\' is deprecated!'); }, _router: { stack: [{}] } }, configurable: true });
      mw(req, res, next);
    };
    app.use(fake);
    app.get('/old/:id', (_req, res) => {
      res.send('ok');
    });
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const url = await serve(app);
    await request(url).get('/old/1').expect(200, 'ok');
    await request(url).get('/old/2').expect(200, 'ok');
    expect(emitWarning.mock.calls.filter((c) => String(c[0]).includes('neither Express 4\'s nor Express 5\'s'))).toHaveLength(1);
    emitWarning.mockRestore();
    // Both requests are recorded (the router patch from earlier tests in this process may still name the route).
    expect(await mw.llmscope.registry?.metrics()).toMatch(/http_server_requests_total\{[^}]*status_code="200"\} 2/);
  });
});
