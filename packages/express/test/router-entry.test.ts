import express, { type NextFunction, type Request, type Response } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { SpanKind } from '@opentelemetry/api';
import { enterAtRouter, llmscope, getContext } from '../src';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { closeServed, serve } from './serve';

// Express 5: the middleware, first in its app's router and mounted at `/`, moves to the router's
// entry on the first request (src/index.ts, moveToRouterEntry). Elsewhere it stays a layer.
// enterAtRouter puts it there for code that owns the app (the NestJS module).

const exporter = memoryExporter();
afterEach(() => exporter.reset());
afterAll(closeServed);

type Layer = { match(path: string): unknown };
const firstLayer = (app: express.Express): Layer => (app.router as unknown as { stack: Layer[] }).stack[0] as Layer;
const routerHandleIsOwn = (app: express.Express): boolean => Object.prototype.hasOwnProperty.call(app.router, 'handle');

async function requestsByRoute(url: string): Promise<Record<string, number>> {
  const samples = parseMetrics((await request(url).get('/metrics').expect(200)).text);
  const out: Record<string, number> = {};
  for (const s of find(samples, 'http_server_requests_total')) out[`${s.labels.route} ${s.labels.status_code}`] = s.value;
  return out;
}

/** Resolves when the server has the request that `arrived` is called for (no timing guess). */
function signal(): { arrived: () => void; reached: Promise<void> } {
  let arrived = (): void => undefined;
  const reached = new Promise<void>((resolve) => { arrived = resolve; });
  return { arrived, reached };
}

function app(slowArrived: () => void): express.Express {
  const a = express();
  a.use(llmscope());
  a.use(express.json());
  a.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id, user: getContext()?.userId ?? null });
  });
  a.get('/slow', async (_req, res) => {
    slowArrived();
    await new Promise((r) => setTimeout(r, 100));
    res.json({ user: getContext()?.userId ?? null });
  });
  a.get('/boom', () => {
    throw new Error('boom');
  });
  const admin = express();
  admin.get('/stats/:day', (_req, res) => {
    res.json({ user: getContext()?.userId ?? null });
  });
  a.use('/admin', admin);
  return a;
}

describe('the middleware first in an Express 5 app', () => {
  test('moves to the router entry after the first request; every request is recorded once, with its context, route and span', async () => {
    const slow = signal();
    const a = app(slow.arrived);
    const url = await serve(a);
    // The first request goes through the layer and moves it; requests arriving while it is in
    // flight (its handler waits 100 ms) already take the router entry.
    // supertest sends on then(); Promise.resolve calls it.
    const first = Promise.resolve(request(url).get('/slow').set('x-user-id', 'u0').expect(200));
    await slow.reached;
    expect(firstLayer(a).match('/users/1')).toBe(false);
    expect(routerHandleIsOwn(a)).toBe(true);
    const rest = await Promise.all([1, 2, 3].map((i) => request(url).get(`/users/${i}`).set('x-user-id', `u${i}`).expect(200)));
    expect(rest.map((r) => r.body.user)).toEqual(['u1', 'u2', 'u3']);
    expect((await first).body).toEqual({ user: 'u0' });
    expect((await request(url).get('/admin/stats/monday').set('x-user-id', 'ada').expect(200)).body).toEqual({ user: 'ada' });
    await request(url).get('/boom').expect(500);
    await request(url).get('/nowhere').expect(404);
    expect(await requestsByRoute(url)).toEqual({
      '/slow 200': 1, '/users/:id 200': 3, '/admin/stats/:day 200': 1, '/boom 500': 1, 'unmatched 404': 1,
    });
    const spans = await waitForSpans(exporter, (all) => all.filter((s) => s.kind === SpanKind.SERVER).length === 7);
    const names = spans.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.name).sort();
    expect(names).toEqual(['GET', 'GET /admin/stats/:day', 'GET /boom', 'GET /slow', 'GET /users/:id', 'GET /users/:id', 'GET /users/:id']);
    expect(spans.find((s) => s.name === 'GET /boom')?.events.some((e) => e.name === 'exception')).toBe(true);
  });

  test('stays a layer under a path, after other middleware, and in a router; order and context are as placed', async () => {
    const seen: Record<string, string | null> = {};
    const note = (name: string) => (_req: Request, _res: Response, next: NextFunction): void => {
      seen[name] = getContext()?.userId ?? null;
      next();
    };
    const underPath = express();
    underPath.use('/api', llmscope());
    underPath.get('/api/users/:id', note('underPath'), (_req, res) => { res.send('ok'); });
    const afterOther = express();
    afterOther.use(note('before'));
    afterOther.use(llmscope());
    afterOther.get('/users/:id', note('after'), (_req, res) => { res.send('ok'); });
    const inRouter = express();
    const router = express.Router();
    router.use(llmscope());
    router.get('/users/:id', note('inRouter'), (_req, res) => { res.send('ok'); });
    inRouter.use(router);
    for (const [a, path] of [[underPath, '/api/users/1'], [afterOther, '/users/1'], [inRouter, '/users/1']] as const) {
      const url = await serve(a);
      await request(url).get(path).set('x-user-id', 'ada').expect(200);
      await request(url).get(path).set('x-user-id', 'ada').expect(200);
      expect(routerHandleIsOwn(a)).toBe(false);
    }
    expect(seen).toEqual({ underPath: 'ada', before: null, after: 'ada', inRouter: 'ada' });
    // Under a path, requests elsewhere are not the middleware's.
    expect(firstLayer(underPath).match('/other')).toBe(false);
    expect(firstLayer(underPath).match('/api/users/1')).not.toBe(false);
  });
});

describe('enterAtRouter (an app whose first layer is not llmscope\'s, as Nest makes them)', () => {
  test('requests start before the app\'s first layer, which runs inside the context; routes, mounts, errors, 404s and /metrics as with the middleware', async () => {
    const a = express();
    const seen: (string | null)[] = [];
    // What Nest's adapter adds when it creates the app: a layer of its own, first.
    a.use((_req, _res, next) => {
      seen.push(getContext()?.userId ?? null);
      next();
    });
    const middleware = llmscope();
    expect(enterAtRouter(a, middleware)).toBe(true);
    a.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id, user: getContext()?.userId ?? null });
    });
    a.get('/boom', () => {
      throw new Error('boom');
    });
    const admin = express.Router();
    admin.get('/stats/:day', (_req, res) => {
      res.json({ user: getContext()?.userId ?? null });
    });
    a.use('/admin', admin);
    const url = await serve(a);
    expect((await request(url).get('/users/7').set('x-user-id', 'ada').expect(200)).body).toEqual({ id: '7', user: 'ada' });
    expect((await request(url).get('/admin/stats/monday').set('x-user-id', 'bob').expect(200)).body).toEqual({ user: 'bob' });
    await request(url).get('/boom').expect(500);
    await request(url).get('/nowhere').expect(404);
    expect(seen).toEqual(['ada', 'bob', null, null]);
    expect(routerHandleIsOwn(a)).toBe(true);
    // No layer of llmscope's in the app.
    expect((a.router as unknown as { stack: { handle: unknown }[] }).stack.some((l) => l.handle === middleware)).toBe(false);
    expect(await requestsByRoute(url)).toEqual({ '/users/:id 200': 1, '/admin/stats/:day 200': 1, '/boom 500': 1, 'unmatched 404': 1 });
    const spans = await waitForSpans(exporter, (all) => all.filter((s) => s.kind === SpanKind.SERVER).length === 4);
    expect(spans.find((s) => s.name === 'GET /boom')?.events.some((e) => e.name === 'exception')).toBe(true);
    await middleware.llmscope.shutdown();
  });

  test('changes nothing where it cannot: Express 4, an app with an empty router, a function that is not llmscope\'s middleware', () => {
    const four = express4();
    four.use((_req: unknown, _res: unknown, next: () => void) => next());
    const middleware = llmscope({ tracing: false });
    expect(enterAtRouter(four, middleware)).toBe(false);
    const empty = express();
    expect(enterAtRouter(empty, middleware)).toBe(false);
    expect(routerHandleIsOwn(empty)).toBe(false);
    const five = express();
    five.use((_req, _res, next) => next());
    const notOurs = Object.assign((_req: Request, _res: Response, next: NextFunction) => next(), { llmscope: middleware.llmscope });
    expect(enterAtRouter(five, notOurs)).toBe(false);
    expect(routerHandleIsOwn(five)).toBe(false);
    expect(enterAtRouter(undefined, middleware)).toBe(false);
  });
});
