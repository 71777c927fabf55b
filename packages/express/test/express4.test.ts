/**
 * The adapter on Express 4 (`express4` is `npm:express@^4`): route templates read from Express 4's
 * router, errors, the trace-id header. Apps written the same way on both majors must get the
 * same labels, so the shared app is built with each and compared.
 */
import express5 from 'express';
import express4 from 'express4';
import request from 'supertest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { llmscope, getContext, step } from '../src';
import { regexpTemplate } from '../src/route-tracking';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { closeServed, serve, serverSpan } from './serve';

type Express = typeof express5;

const exporter = memoryExporter();
afterEach(() => exporter.reset());
afterAll(closeServed);

async function routes(url: string): Promise<string[]> {
  const res = await request(url).get('/metrics').expect(200);
  return [...new Set(find(parseMetrics(res.text), 'http_server_requests_total').map((s) => s.labels.route as string))].sort();
}

/** Routes written the same way on Express 4 and 5 (the path syntax both accept). */
function sharedApp(express: Express): ReturnType<Express> {
  const app = express();
  app.use(llmscope());
  app.use(express.json());
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const users = express.Router();
  users.get('/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  users.get('/', (_req, res) => {
    res.json([]);
  });
  const v1 = express.Router();
  v1.use('/users', users);
  const api = express.Router();
  api.use((_req, _res, next) => next()); // a plain middleware inside a mount
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
  const reports = express.Router();
  reports.get('/:year', (_req, res) => {
    res.send('report');
  });
  admin.use('/reports', reports);
  app.use('/admin', admin);
  app.get(['/a', '/b'], (_req, res) => {
    res.send('ab');
  });
  const many = express.Router();
  many.get('/x', (_req, res) => {
    res.send('x');
  });
  app.use(['/m1', '/m2'], many);
  app.get(/\/files\/.*/, (_req, res) => {
    res.send('file');
  });
  app.route('/items/:id').get((_req, res) => {
    res.send('item');
  }).post((_req, res) => {
    res.status(201).send('created');
  });
  // A route that passes to the next one: the last matched route is recorded.
  app.get('/pass/:id', (_req, _res, next) => next());
  app.get('/pass/:slug', (_req, res) => {
    res.send('passed');
  });
  return app;
}

const sharedRequests: [string, string, number][] = [
  ['get', '/users/1', 200], ['get', '/api/v1/users/8', 200], ['get', '/api/v1/users', 200],
  ['get', '/orgs/42/members/7', 200], ['get', '/admin/stats/monday', 200], ['get', '/admin/reports/2024', 200],
  ['get', '/b', 200], ['get', '/m2/x', 200], ['get', '/files/a/b.txt', 200], ['get', '/items/3', 200],
  ['post', '/items/3', 201], ['get', '/pass/9', 200], ['get', '/nope/1', 404], ['get', '/api/v1/nope', 404],
];

const sharedRoutes = [
  '/\\/files\\/.*/', '/a,/b', '/admin/reports/:year', '/admin/stats/:day', '/api/v1/users', '/api/v1/users/:id',
  '/items/:id', '/m1,/m2/x', '/orgs/:orgId/members/:memberId', '/pass/:slug', '/users/:id', 'unmatched',
];

describe('route templates on Express 4', () => {
  test('mounted routers, sub-apps, params in mounts, arrays and regexps: the same labels as on Express 5', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning');
    const seen: Record<string, string[]> = {};
    for (const [name, express] of [['express4', express4], ['express5', express5]] as const) {
      const url = await serve(sharedApp(express));
      for (const [method, path, status] of sharedRequests) await request(url)[method as 'get'](path).expect(status);
      seen[name] = await routes(url);
    }
    expect(seen.express4).toEqual(sharedRoutes);
    expect(seen.express4).toEqual(seen.express5);
    // Express 4 is recognised: no "neither Express 4's nor Express 5's" warning.
    expect(emitWarning.mock.calls.filter((c) => String(c[0]).includes('llmscope'))).toHaveLength(0);
    emitWarning.mockRestore();
  });

  test('Express 4 path syntax in mounts is read back as written: optional, custom-pattern and wildcard params, formats', async () => {
    const app = express4();
    app.use(llmscope());
    const leaf = (): express5.Router => {
      const r = express4.Router();
      r.get('/leaf/:n', (_req, res) => {
        res.send('leaf');
      });
      return r;
    };
    app.use('/opt/:maybe?', leaf());
    app.use('/num/:id(\\d+)', leaf());
    app.use('/file/:name.:ext', leaf());
    app.use('/range/:from-:to', leaf());
    app.use('/v1.2', leaf());
    app.use(/\/re/, leaf());
    app.use('/trail/', leaf());
    const url = await serve(app);
    for (const path of ['/opt/x/leaf/1', '/num/12/leaf/1', '/file/a.txt/leaf/1', '/range/1-9/leaf/1', '/v1.2/leaf/1', '/re/leaf/1', '/trail/leaf/1']) {
      await request(url).get(path).expect(200, 'leaf');
    }
    await request(url).get('/num/abc/leaf/1').expect(404);
    expect(await routes(url)).toEqual([
      '/\\/re//leaf/:n', '/file/:name.:ext/leaf/:n', '/num/:id(\\d+)/leaf/:n', '/opt/:maybe?/leaf/:n', '/range/:from-:to/leaf/:n', '/trail/leaf/:n', '/v1.2/leaf/:n', 'unmatched',
    ]);
  });

  test('mount RegExps of Express 4.17 (path-to-regexp 0.1.7, recorded here) read back as the same templates', () => {
    // The RegExp sources and key names Express 4.17.0's Layer makes for `app.use(path, ...)`.
    const recorded: [string, RegExp, (string | number)[]][] = [
      ['/api', /^\/api\/?(?=\/|$)/i, []],
      ['/orgs/:orgId', /^\/orgs\/(?:([^\/]+?))\/?(?=\/|$)/i, ['orgId']],
      ['/a/:b?', /^\/a(?:\/([^\/]+?))?\/?(?=\/|$)/i, ['b']],
      ['/f/:file.:ext', /^\/f\/(?:([^\/]+?))(?:\.([^\/\.]+?))\/?(?=\/|$)/i, ['file', 'ext']],
      ['/x/:from-:to', /^\/x\/(?:([^\/]+?))-(?:([^\/]+?))\/?(?=\/|$)/i, ['from', 'to']],
      ['/p/:path*', /^\/p\/(?:([^\/]+?)((?:[\/].+?)?))\/?(?=\/|$)/i, ['path', 0]],
      ['/n/:id(\\d+)', /^\/n\/(?:(\d+))\/?(?=\/|$)/i, ['id']],
      ['/a,/b/:c', /(?:^\/a\/?(?=\/|$)|^\/b\/(?:([^\/]+?))\/?(?=\/|$))/i, ['c']],
      ['*', /^(.*)\/?(?=\/|$)/i, [0]],
      ['', /^\/?(?=\/|$)/i, []],
      ['/\\/files\\/.*/', /\/files\/.*/, []],
    ];
    for (const [template, regexp, names] of recorded) {
      expect(regexpTemplate(regexp, names.map((name) => ({ name })))).toBe(template);
    }
  });

  test('the server span is named by the template, carries the trace id header and the context reaches the handler', async () => {
    const app = sharedApp(express4);
    app.get('/ctx/:id', async (_req, res) => {
      await step('lookup', async () => undefined);
      res.json({ user: getContext()?.userId ?? null });
    });
    const url = await serve(app);
    const res = await request(url).get('/orgs/7/members/8?x=1').set('x-user-id', 'u-4').expect(200);
    const ctx = await request(url).get('/ctx/1').set('x-user-id', 'u-5').expect(200);
    expect(ctx.body).toEqual({ user: 'u-5' });
    const spans = await waitForSpans(exporter, (s) => s.filter((x) => x.kind === SpanKind.SERVER).length === 2);
    const span = serverSpan(spans, 'GET /orgs/:orgId/members/:memberId');
    expect(res.headers['x-trace-id']).toBe(span.spanContext().traceId);
    expect(span.attributes).toMatchObject({ 'http.route': '/orgs/:orgId/members/:memberId', 'url.path': '/orgs/7/members/8', 'user.id': 'u-4', 'http.response.status_code': 200 });
    const ctxSpan = serverSpan(spans, 'GET /ctx/:id');
    expect(spans.find((s) => s.name === 'lookup')?.parentSpanContext?.spanId).toBe(ctxSpan.spanContext().spanId);
  });
});

describe('errors on Express 4', () => {
  test('thrown, next(err), in a nested router, out of a mounted router and in a sub-app: 500, an ERROR span with the exception', async () => {
    const app = express4();
    app.use(llmscope());
    app.get('/sync', () => {
      throw new TypeError('sync boom');
    });
    app.get('/next', (_req, _res, next) => {
      next(new Error('next boom'));
    });
    const inner = express4.Router();
    inner.get('/deep', () => {
      throw new Error('deep boom');
    });
    const outer = express4.Router();
    outer.use('/inner', inner);
    app.use('/r', outer);
    const sub = express4();
    sub.get('/fail', () => {
      throw new RangeError('sub boom');
    });
    app.use('/sub', sub);
    app.get('/handled', () => {
      throw Object.assign(new Error('bad input'), { status: 400 });
    });
    // Last: a mounted router whose plain middleware fails. The error leaves the router and meets
    // no other layer on its way to Express's final handler.
    const guard = express4.Router();
    guard.use((_req, _res, next) => next(new Error('guard boom')));
    app.use('/guarded', guard);
    const url = await serve(app);
    const cases = [['/sync', 'sync boom', 'TypeError', '/sync'], ['/next', 'next boom', 'Error', '/next'], ['/r/inner/deep', 'deep boom', 'Error', '/r/inner/deep'], ['/sub/fail', 'sub boom', 'RangeError', '/sub/fail'], ['/guarded/x', 'guard boom', 'Error', undefined]] as const;
    for (const [path] of cases) await request(url).get(path).expect(500);
    await request(url).get('/handled').expect(400);
    const spans = await waitForSpans(exporter, (s) => s.filter((x) => x.kind === SpanKind.SERVER).length === cases.length + 1);
    for (const [, message, type, route] of cases) {
      const span = serverSpan(spans, route === undefined ? 'GET' : `GET ${route}`);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.attributes['error.type']).toBe(type);
      expect(span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe(message);
    }
    expect(serverSpan(spans, 'GET /handled').status.code).toBe(SpanStatusCode.UNSET);
    const samples = parseMetrics((await request(url).get('/metrics').expect(200)).text);
    for (const route of ['/sync', '/next', '/r/inner/deep', '/sub/fail', 'unmatched']) {
      expect(find(samples, 'http_server_requests_total', { route, status_code: '500' })[0]?.value).toBe(1);
    }
    expect(find(samples, 'http_server_requests_total', { route: '/handled', status_code: '400' })[0]?.value).toBe(1);
  });

  test('an error from a plain middleware that is the last layer reaches the final handler unseen: still a 500 and an ERROR span (as on Express 5)', async () => {
    for (const express of [express4, express5]) {
      const app = express();
      app.use(llmscope());
      app.use(() => {
        throw new Error('last boom');
      });
      const url = await serve(app);
      await request(url).get('/anything').expect(500);
    }
    const spans = await waitForSpans(exporter, (s) => s.length === 2);
    for (const span of spans) {
      expect(span.name).toBe('GET');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.find((e) => e.name === 'exception')).toBeUndefined();
    }
  });

  test('user error handlers, at the top or mounted, see the error and keep their status', async () => {
    const app = express4();
    app.use(llmscope());
    app.get('/fail', () => {
      throw new Error('db down');
    });
    const api = express4.Router();
    api.get('/fail', (_req, _res, next) => {
      next(new Error('api down'));
    });
    api.use((err: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      res.status(502).json({ api: err.message });
    });
    app.use('/api', api);
    app.use((err: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      res.status(503).json({ error: err.message });
    });
    const url = await serve(app);
    expect((await request(url).get('/fail').expect(503)).body).toEqual({ error: 'db down' });
    expect((await request(url).get('/api/fail').expect(502)).body).toEqual({ api: 'api down' });
    const spans = await waitForSpans(exporter, (s) => s.length === 2);
    expect(serverSpan(spans, 'GET /fail').status).toEqual({ code: SpanStatusCode.ERROR, message: 'db down' });
    expect(serverSpan(spans, 'GET /api/fail').status).toEqual({ code: SpanStatusCode.ERROR, message: 'api down' });
  });
});
