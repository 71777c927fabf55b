import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import Fastify4 from 'fastify4';
import request from 'supertest';
import { Counter, Registry } from 'prom-client';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { llmscope, getContext, setUser, setSession, tag, step, traceLLM, LlmscopeConfigError, type LlmscopeFastifyOptions } from '../src';
import { memoryExporter, waitFor, waitForSpans, find, parseMetrics } from '@llmscope/testkit';

const exporter = memoryExporter();
const open: FastifyInstance[] = [];

type FastifyFactory = typeof Fastify;

/**
 * The majors the plugin supports: `fastify` (5) and the `fastify4` alias (npm:fastify@^4.29).
 * Tests of what is framework-specific (prefixes, encapsulation, the 404 handlers, hooks and body
 * parsing, error handlers, the external hook Nest on Fastify 4 uses) run on each, with the major's
 * own `Fastify()`. Fastify 4's instances are typed with Fastify 5's types here (the calls used are
 * the same on both); an app on Fastify 4 compiles against its own types.
 */
const majors: [string, FastifyFactory][] = [['5', Fastify], ['4', Fastify4 as unknown as FastifyFactory]];
const onEachMajor = test.each(majors);

/** A Fastify app with llmscope registered first; `routes` adds the app's routes and plugins. */
async function build(options?: LlmscopeFastifyOptions, routes?: (app: FastifyInstance) => void | Promise<void>, fastifyOptions?: FastifyServerOptions, factory: FastifyFactory = Fastify): Promise<FastifyInstance> {
  const app = factory(fastifyOptions);
  open.push(app);
  await app.register(llmscope, options ?? {});
  await routes?.(app);
  return app;
}

/** Listens on 127.0.0.1 and a random port: a real server, real sockets. */
async function serve(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

afterEach(() => exporter.reset());
afterAll(async () => {
  await Promise.all(open.map((a) => a.close()));
});

function serverSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.SERVER);
}

function serverSpan(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.kind === SpanKind.SERVER && s.name === name);
  if (!span) throw new Error(`no server span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

async function metrics(url: string) {
  const res = await request(url).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

const itemsPlugin: FastifyPluginAsync = async (instance) => {
  instance.get<{ Params: { id: string } }>('/items/:id', async (req) => ({ id: req.params.id }));
  instance.get('/items', async () => []);
};

const apiPlugin: FastifyPluginAsync = async (instance) => {
  await instance.register(itemsPlugin, { prefix: '/v1' });
  instance.get<{ Params: { id: string } }>('/users/:id', async (req) => ({ id: req.params.id }));
};

/** Encapsulated child plugin with hooks and a decorator of its own (not wrapped with fastify-plugin). */
const privatePlugin: FastifyPluginAsync = async (instance) => {
  instance.decorateRequest('secret', '');
  instance.addHook('onRequest', async (req) => {
    (req as FastifyRequest & { secret: string }).secret = 'only-here';
  });
  instance.get<{ Params: { org: string; member: string } }>('/orgs/:org/members/:member', async (req) => ({
    secret: (req as FastifyRequest & { secret: string }).secret,
    user: getContext()?.userId ?? null,
  }));
};

function usersRoutes(app: FastifyInstance): void {
  app.get<{ Params: { id: string } }>('/users/:id', async (req) => ({ id: req.params.id }));
  app.register(apiPlugin, { prefix: '/api' });
  app.register(privatePlugin);
}

describe('Fastify majors', () => {
  onEachMajor('the plugin registers on Fastify %s (fastify-plugin declares 4.x || 5.x)', async (major, Fastify) => {
    const app = await build({ metrics: { defaultMetrics: false } }, (instance) => {
      instance.get('/users/:id', async () => ({ user: getContext()?.userId ?? null, route: getContext()?.route }));
    }, undefined, Fastify);
    expect(app.version.split('.')[0]).toBe(major);
    const url = await serve(app);
    expect((await request(url).get('/users/3').set('x-user-id', 'ola').expect(200)).body).toEqual({ user: 'ola', route: '/users/:id' });
    expect(app.llmscope.metricsPath).toBe('/metrics');
  });
});

describe('metrics', () => {
  test('/metrics returns Prometheus text with one series per route template', async () => {
    const url = await serve(await build(undefined, usersRoutes));
    await request(url).get('/users/1').expect(200);
    await request(url).get('/users/2').expect(200, { id: '2' });
    const samples = await metrics(url);
    const series = find(samples, 'http_server_requests_total', { route: '/users/:id' });
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ labels: { method: 'GET', route: '/users/:id', status_code: '200' }, value: 2 });
    expect(find(samples, 'http_server_request_duration_seconds_count', { route: '/users/:id' })[0]?.value).toBe(2);
    expect(find(samples, 'http_server_active_requests')).toHaveLength(1);
    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(samples.some((s) => s.labels.route === '/users/1')).toBe(false);
    // Scrapes are not counted as app traffic.
    await metrics(url);
    expect(find(await metrics(url), 'http_server_requests_total', { route: '/metrics' })).toHaveLength(0);
  });

  onEachMajor('route templates include register prefixes, nested prefixes and encapsulated child plugins (Fastify %s)', async (_major, Fastify) => {
    const url = await serve(await build(undefined, usersRoutes, undefined, Fastify));
    await request(url).get('/api/users/7').expect(200);
    await request(url).get('/api/v1/items/8').expect(200, { id: '8' });
    await request(url).get('/api/v1/items/9').expect(200);
    await request(url).get('/api/v1/items').expect(200);
    await request(url).head('/api/v1/items/10').expect(200);
    const r = await request(url).get('/orgs/42/members/7').set('x-user-id', 'dana').expect(200);
    // The child plugin's own hooks and decorators still work, and its handler sees the context.
    expect(r.body).toEqual({ secret: 'only-here', user: 'dana' });
    await request(url).get('/orgs/43/members/8').expect(200);
    const samples = find(await metrics(url), 'http_server_requests_total');
    expect([...new Set(samples.map((s) => s.labels.route))].sort()).toEqual(['/api/users/:id', '/api/v1/items', '/api/v1/items/:id', '/orgs/:org/members/:member']);
    expect(find(samples, 'http_server_requests_total', { route: '/api/v1/items/:id', method: 'GET' })[0]?.value).toBe(2);
    expect(find(samples, 'http_server_requests_total', { route: '/api/v1/items/:id', method: 'HEAD' })[0]?.value).toBe(1);
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 7);
    expect(serverSpan(spans, 'GET /orgs/:org/members/:member').attributes['http.route']).toBe('/orgs/:org/members/:member');
  });

  onEachMajor('1000 random unknown paths add one route value; a custom 404 handler is measured the same way (Fastify %s)', async (_major, Fastify) => {
    const url = await serve(await build(undefined, usersRoutes, undefined, Fastify));
    await request(url).get('/users/1').expect(200);
    const agent = request(url);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => agent.get(`/nope/${i + j}/${Math.random().toString(36).slice(2)}`).expect(404)));
    }
    const samples = find(await metrics(url), 'http_server_requests_total');
    expect([...new Set(samples.map((s) => s.labels.route))].sort()).toEqual(['/users/:id', 'unmatched']);
    expect(find(samples, 'http_server_requests_total', { route: 'unmatched', status_code: '404' })[0]?.value).toBe(1000);
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 1001);
    const unmatched = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'GET');
    expect(unmatched?.attributes['http.route']).toBeUndefined();
    expect(unmatched?.attributes['http.response.status_code']).toBe(404);

    const custom = await serve(await build({ unmatchedRoute: 'not_found', metrics: { defaultMetrics: false } }, (app) => {
      app.setNotFoundHandler(async (_req, reply) => {
        reply.code(404);
        return { missing: getContext()?.userId ?? null };
      });
      app.get('/items/:id', async () => 'ok');
    }, undefined, Fastify));
    // 404s first: the route's template is still read right on the first request that matched one.
    const res = await request(custom).get('/whatever/1').set('x-user-id', 'eve').expect(404);
    expect(res.body).toEqual({ missing: 'eve' });
    await request(custom).post('/whatever/2').send({ a: 1 }).expect(404);
    await request(custom).get('/items/7').expect(200);
    await request(custom).get('/whatever/3').expect(404);
    const c = find(await metrics(custom), 'http_server_requests_total');
    expect(c.map((s) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code}: ${s.value}`).sort()).toEqual(['GET /items/:id 200: 1', 'GET not_found 404: 2', 'POST not_found 404: 1']);
  });

  test('an app registry is used when given, with the app\'s own metrics next to ours', async () => {
    const registry = new Registry();
    new Counter({ name: 'app_jobs_total', help: 'jobs', registers: [registry] }).inc(3);
    const url = await serve(await build({ metrics: { registry, defaultMetrics: false } }));
    expect(find(await metrics(url), 'app_jobs_total')[0]?.value).toBe(3);
  });

  onEachMajor('registered inside an encapsulated plugin, it measures that plugin only, with /metrics under its prefix (Fastify %s)', async (_major, Fastify) => {
    const app = Fastify();
    open.push(app);
    app.get('/outside', async () => ({ user: getContext()?.userId ?? null }));
    await app.register(async (child) => {
      await child.register(llmscope, { metrics: { defaultMetrics: false } });
      child.get('/inside/:id', async () => ({ user: getContext()?.userId ?? null }));
    }, { prefix: '/scoped' });
    const url = await serve(app);
    expect((await request(url).get('/outside').set('x-user-id', 'ida').expect(200)).body).toEqual({ user: null });
    expect((await request(url).get('/scoped/inside/1').set('x-user-id', 'ida').expect(200)).body).toEqual({ user: 'ida' });
    await request(url).get('/metrics').expect(404);
    await request(url).get('/scoped/metrics').expect(200);
    const samples = find(parseMetrics((await request(url).get('/scoped/metrics').expect(200)).text), 'http_server_requests_total');
    expect(samples.map((s) => `${s.labels.route} ${s.labels.status_code} ${s.value}`)).toEqual(['/scoped/inside/:id 200 1']);
  });

  onEachMajor('a route already at /metrics clashes loudly at start-up (Fastify %s)', async (_major, Fastify) => {
    const app = Fastify();
    open.push(app);
    app.get('/metrics', async () => 'mine');
    app.register(llmscope);
    await expect(app.ready()).rejects.toThrow(/already declared|GET:\/metrics/);
  });
});

describe('context and identity', () => {
  test('user and session from headers and from setUser() appear on the server span', async () => {
    const url = await serve(await build(undefined, (app) => {
      app.get('/headers', async () => JSON.parse(JSON.stringify(getContext())));
      app.get('/code', async () => {
        setUser('user-from-code');
        setSession('session-from-code');
        tag('tier', 'paid');
        tag('attempt', 2);
        tag('bad', { nested: true });
        return 'ok';
      });
    }));
    const h = await request(url).get('/headers').set('x-user-id', 'u-1').set('x-session-id', 's-1').expect(200);
    expect(h.body).toMatchObject({ userId: 'u-1', sessionId: 's-1', route: '/headers' });
    await request(url).get('/code').set('x-user-id', 'u-2').expect(200);
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 2);
    expect(serverSpan(spans, 'GET /headers').attributes).toMatchObject({ 'user.id': 'u-1', 'session.id': 's-1', 'http.route': '/headers', 'http.response.status_code': 200 });
    const code = serverSpan(spans, 'GET /code').attributes;
    expect(code).toMatchObject({ 'user.id': 'user-from-code', 'session.id': 'session-from-code', 'llmscope.tag.tier': 'paid', 'llmscope.tag.attempt': 2 });
    expect(code['llmscope.tag.bad']).toBeUndefined();
  });

  onEachMajor('context follows awaits, timers, body parsing (JSON, text, large, custom parser) and later hooks (Fastify %s)', async (_major, Fastify) => {
    const seenInHooks: Record<string, (string | undefined)[]> = {};
    const url = await serve(await build(undefined, (app) => {
      app.addContentTypeParser('application/x-slow', { parseAs: 'string' }, (_req, body, done) => {
        setTimeout(() => done(null, { slow: body }), 5);
      });
      for (const hook of ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend'] as const) {
        app.addHook(hook, async function recordHook(req: FastifyRequest) {
          (seenInHooks[`${req.headers['x-user-id']} ${hook}`] ??= []).push(getContext()?.userId);
        });
      }
      app.post('/chat', async (req) => {
        const seen: (string | undefined)[] = [getContext()?.userId];
        await new Promise((r) => setTimeout(r, 5));
        seen.push(getContext()?.userId);
        await new Promise((r) => setImmediate(r));
        seen.push(getContext()?.userId);
        await Promise.all([1, 2].map(async () => {
          await null;
          seen.push(getContext()?.userId);
        }));
        const body = req.body as { question?: string } | string;
        return { seen, size: typeof body === 'string' ? body.length : JSON.stringify(body).length };
      });
    }, undefined, Fastify));
    const big = { question: 'x'.repeat(200_000) };
    const send = (user: string, type: string, body: string | object) =>
      request(url).post('/chat').set('x-user-id', user).set('content-type', type).send(body as string).expect(200);
    // Concurrent requests of different users must not see each other's context.
    const results = await Promise.all([
      send('alice', 'application/json', { question: 'q' }),
      send('bob', 'text/plain', 'plain text body'),
      send('carol', 'application/json', big),
      send('dave', 'application/x-slow', 'slow body'),
    ]);
    for (const [i, user] of ['alice', 'bob', 'carol', 'dave'].entries()) {
      expect(results[i]?.body.seen).toEqual([user, user, user, user, user]);
      for (const hook of ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend']) {
        expect([hook, seenInHooks[`${user} ${hook}`]]).toEqual([hook, [user]]);
      }
    }
    expect(results[2]?.body.size).toBe(JSON.stringify(big).length);

    // A body that arrives in later socket reads, after the hooks ran: the handler still sees its context.
    const body = JSON.stringify({ question: 'slow' });
    const slow = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-user-id': 'erin' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => {
        req.write(body.slice(0, 5));
        setTimeout(() => req.end(body.slice(5)), 20);
      }, 20);
    });
    expect(JSON.parse(slow).seen).toEqual(['erin', 'erin', 'erin', 'erin', 'erin']);
    expect(seenInHooks['erin preValidation']).toEqual(['erin']);
  });

  test('invalid options fail register() with a message that says what to change; register keys are ignored', async () => {
    const attempt = async (options: LlmscopeFastifyOptions) => {
      const app = Fastify();
      open.push(app);
      await app.register(llmscope, options);
    };
    await expect(attempt({ metrics: { path: 'metrics' } })).rejects.toThrow(/metrics\.path.*must be a path starting with "\/"/);
    await expect(attempt({ tracing: { printtraces: true } as never })).rejects.toThrow(/unknown option `tracing\.printtraces`\. Did you mean `tracing\.printTraces`\?/);
    await expect(attempt({ traceIdHeader: 'bad header' })).rejects.toThrow(LlmscopeConfigError);
    await expect(attempt({ maxValueLength: 0 })).rejects.toThrow(/maxValueLength.*positive integer/);
    // Fastify's own register options are not llmscope options.
    await expect(attempt({ logLevel: 'warn' } as LlmscopeFastifyOptions)).resolves.toBeUndefined();
  });

  onEachMajor('registering twice fails with a clear message (Fastify %s)', async (_major, Fastify) => {
    const app = Fastify();
    open.push(app);
    await app.register(llmscope);
    await expect(app.register(llmscope)).rejects.toThrow(/registered twice/);
  });
});

describe('tracing', () => {
  test('one SERVER span per request with HTTP semconv attributes and the trace id in the response', async () => {
    const url = await serve(await build(undefined, usersRoutes));
    const res = await request(url).get('/api/v1/items/5?secret=1').expect(200);
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 1);
    const span = serverSpan(spans, 'GET /api/v1/items/:id');
    expect(res.headers['x-trace-id']).toBe(span.spanContext().traceId);
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET', 'http.route': '/api/v1/items/:id', 'url.path': '/api/v1/items/5', 'url.scheme': 'http', 'http.response.status_code': 200,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.instrumentationScope.name).toBe('@llmscope/core');
  });

  test('step() and traceLLM() spans nest under the request span, in order', async () => {
    const url = await serve(await build(undefined, (app) => {
      app.post<{ Body: { question: string } }>('/chat', async (req) => {
        setSession('conv-1');
        const vector = await step('embed_query', async () => [0.1, 0.2], { 'gen_ai.embeddings.dimension.count': 2 });
        const docs = step('vector_search', () => ['doc'], { 'gen_ai.data_source.id': 'kb' });
        const answer = await traceLLM({ model: 'sim-gpt', provider: 'simulated', temperature: 0.2 }, async () => {
          await step('tool_lookup', async () => undefined);
          return { id: 'cmpl-1', model: 'sim-gpt-0613', choices: [{ message: { content: 'hi' } }], usage: { prompt_tokens: 120, completion_tokens: 85 } };
        });
        return { vector, docs, text: answer.choices[0]?.message.content, q: req.body.question };
      });
    }));
    const res = await request(url).post('/chat').send({ question: 'why' }).expect(200);
    expect(res.body).toMatchObject({ text: 'hi', q: 'why' });
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 1);
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
    expect(spans.find((s) => s.name === 'tool_lookup')?.parentSpanContext?.spanId).toBe(llm.spanContext().spanId);
    for (const s of spans) expect(s.spanContext().traceId).toBe(server.spanContext().traceId);

    const samples = await metrics(url);
    expect(find(samples, 'gen_ai_client_operation_duration_seconds_count', { model: 'sim-gpt', provider: 'simulated', operation: 'chat', outcome: 'ok' })[0]?.value).toBe(1);
    expect(find(samples, 'llmscope_llm_tokens_total', { model: 'sim-gpt', token_type: 'input' })[0]?.value).toBe(120);
    expect(find(samples, 'llmscope_llm_tokens_total', { model: 'sim-gpt', token_type: 'output' })[0]?.value).toBe(85);
  });

  onEachMajor('thrown errors (sync, async, reply.send(err), in a hook, in a child plugin) give 500, an ERROR span with an exception event and 500 in the metrics (Fastify %s)', async (_major, Fastify) => {
    const url = await serve(await build(undefined, (app) => {
      app.get('/sync', () => {
        throw new TypeError('sync boom');
      });
      app.get('/async', async () => {
        await new Promise((r) => setTimeout(r, 1));
        throw new RangeError('async boom');
      });
      app.get('/send', (_req, reply) => {
        reply.send(new Error('send boom'));
      });
      app.get('/hook', { preHandler: async () => { throw new Error('hook boom'); } }, async () => 'never');
      app.register(async (child) => {
        child.get('/deep', async () => {
          throw new Error('deep boom');
        });
      }, { prefix: '/r' });
      app.get('/handled', async () => {
        throw Object.assign(new Error('bad input'), { statusCode: 400 });
      });
    }, undefined, Fastify));
    for (const path of ['/sync', '/async', '/send', '/hook', '/r/deep']) await request(url).get(path).expect(500);
    await request(url).get('/handled').expect(400);
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 6);
    for (const [name, message, type] of [['GET /sync', 'sync boom', 'TypeError'], ['GET /async', 'async boom', 'RangeError'], ['GET /send', 'send boom', 'Error'], ['GET /hook', 'hook boom', 'Error'], ['GET /r/deep', 'deep boom', 'Error']] as const) {
      const span = serverSpan(spans, name);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.attributes['error.type']).toBe(type);
      expect(span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe(message);
    }
    const handled = serverSpan(spans, 'GET /handled');
    expect(handled.status.code).toBe(SpanStatusCode.UNSET);
    expect(handled.attributes['http.response.status_code']).toBe(400);
    const samples = await metrics(url);
    for (const route of ['/sync', '/async', '/send', '/hook', '/r/deep']) {
      expect(find(samples, 'http_server_requests_total', { route, status_code: '500' })[0]?.value).toBe(1);
    }
    expect(find(samples, 'http_server_requests_total', { route: '/handled', status_code: '400' })[0]?.value).toBe(1);
  });

  onEachMajor('a setErrorHandler keeps its status: 4xx stays a client error, 5xx is an ERROR span with the exception (Fastify %s)', async (_major, Fastify) => {
    const url = await serve(await build(undefined, (app) => {
      app.setErrorHandler(async (error, _req, reply) => {
        const message = error instanceof Error ? error.message : String(error);
        reply.code(message === 'db down' ? 503 : 422);
        return { error: message, user: getContext()?.userId ?? null };
      });
      app.get('/invalid', async () => {
        throw new Error('bad question');
      });
      app.get('/fail', async () => {
        throw new Error('db down');
      });
    }, undefined, Fastify));
    const invalid = await request(url).get('/invalid').set('x-user-id', 'frank').expect(422);
    expect(invalid.body).toEqual({ error: 'bad question', user: 'frank' });
    const fail = await request(url).get('/fail').expect(503);
    expect(fail.body).toEqual({ error: 'db down', user: null });
    const spans = await waitForSpans(exporter, (s) => serverSpans(s).length === 2);
    const i = serverSpan(spans, 'GET /invalid');
    expect(i.status.code).toBe(SpanStatusCode.UNSET);
    expect(i.attributes['http.response.status_code']).toBe(422);
    expect(serverSpan(spans, 'GET /fail').status).toEqual({ code: SpanStatusCode.ERROR, message: 'db down' });
    const samples = await metrics(url);
    expect(find(samples, 'http_server_requests_total', { route: '/invalid', status_code: '422' })[0]?.value).toBe(1);
    expect(find(samples, 'http_server_requests_total', { route: '/fail', status_code: '503' })[0]?.value).toBe(1);
  });

});

describe('logging', () => {
  test('Fastify\'s own logger keeps logging its lines, with its request ids, errors included', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    const url = await serve(await build(undefined, (app) => {
      app.get('/hello', async (req) => {
        req.log.info({ user: getContext()?.userId }, 'inside handler');
        return 'hi';
      });
      app.get('/oops', async () => {
        throw new Error('logged boom');
      });
    }, { logger: { level: 'info', stream } }));
    await request(url).get('/hello').set('x-user-id', 'gina').expect(200);
    await request(url).get('/oops').expect(500);
    // Fastify logs 'request completed' when the response has ended, which may be after the client
    // has it: awaited for both requests (a fixed 20 ms is not always enough on a loaded CI machine).
    await waitFor(() => lines.filter((l) => l.msg === 'request completed').length >= 2, 10_000, "both requests' 'request completed' lines");
    const inside = lines.find((l) => l.msg === 'inside handler');
    expect(inside).toMatchObject({ user: 'gina', level: 30 });
    const reqId = inside?.reqId;
    expect(lines.filter((l) => l.reqId === reqId).map((l) => l.msg)).toEqual(['incoming request', 'inside handler', 'request completed']);
    expect(lines.find((l) => l.msg === 'request completed' && l.reqId === reqId)).toMatchObject({ res: { statusCode: 200 } });
    const error = lines.find((l) => (l.err as { message?: string } | undefined)?.message === 'logged boom');
    expect(error).toMatchObject({ level: 50 });
  });
});

describe('requestHook: external', () => {
  test('the plugin adds no onRequest hook and hands it to the host, which runs it', async () => {
    const plain = await build({ metrics: { defaultMetrics: false } }, usersRoutes);
    expect(plain.llmscopeRequestHook).toBeUndefined();

    const app = await build({ requestHook: 'external', metrics: { defaultMetrics: false } }, (instance) => {
      usersRoutes(instance);
      instance.get('/unrecorded', async () => 'ok');
    });
    const hook = app.llmscopeRequestHook;
    expect(typeof hook).toBe('function');
    const url = await serve(app);
    // Not run by anyone yet: requests are served but not recorded.
    await request(url).get('/users/1').expect(200);
    expect(find(await metrics(url), 'http_server_requests_total')).toHaveLength(0);
  });

  onEachMajor('run by the host, the hook records the request as the plugin would (Fastify %s)', async (_major, Fastify) => {
    const app = Fastify();
    open.push(app);
    await app.register(llmscope, { requestHook: 'external', metrics: { defaultMetrics: false } });
    const hook = app.llmscopeRequestHook;
    if (hook === undefined) throw new Error('no external hook');
    app.addHook('onRequest', hook);
    app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id, user: getContext()?.userId }));
    const url = await serve(app);
    const res = await request(url).get('/users/7').set('x-user-id', 'ext').expect(200);
    expect(res.body).toEqual({ id: '7', user: 'ext' });
    expect(find(await metrics(url), 'http_server_requests_total', { route: '/users/:id', status_code: '200' })[0]?.value).toBe(1);
  });
});
