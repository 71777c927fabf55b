/**
 * Middleware that resumes from a callback outside the request's context (body-parser before 1.20,
 * callback-style session stores, a queue drained by a timer) hands the request on with no
 * context. The next route or mount layer re-enters the request's own context, so the handler's
 * user, route, steps and LLM calls belong to its request, on Express 4 and 5.
 */
import express5 from 'express';
import express4 from 'express4';
import express417 from 'express417';
import request from 'supertest';
import type { NextFunction, Request, Response } from 'express';
import { llmscope, getContext, setUser, step } from '../src';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { closeServed, serve, serverSpan } from './serve';

const exporter = memoryExporter();
afterEach(() => exporter.reset());
afterAll(closeServed);

// A store whose callbacks run from a timer created at load time: in the root context, as a
// connection pool's or a socket's callbacks do.
const waiting: NextFunction[] = [];
const drain = setInterval(() => {
  for (const next of waiting.splice(0)) next();
}, 2);
drain.unref();
afterAll(() => clearInterval(drain));

function losesContext(_req: Request, _res: Response, next: NextFunction): void {
  waiting.push(next);
}

type Express = typeof express5;

describe.each([
  ['Express 5', express5],
  ['Express 4', express4 as unknown as Express],
  ['Express 4.17 (body-parser 1.19)', express417 as unknown as Express],
])('%s', (_name, express) => {
  let url: string;

  beforeAll(async () => {
    const app = express();
    app.use(llmscope());
    app.use(express.json());
    app.use(losesContext);
    const api = express.Router();
    api.use(losesContext);
    api.post('/items/:id', async (req, res) => {
      setUser(String(req.body.user));
      const n = await step('lookup', async () => 1);
      res.json({ n, user: getContext()?.userId ?? null, inContext: getContext() !== undefined });
    });
    app.use('/api', api);
    url = await serve(app);
  });

  test('the route handler runs in its request context: route, user, step, trace', async () => {
    const res = await request(url).post('/api/items/7').send({ user: 'u-1' }).expect(200);
    expect(res.body).toEqual({ n: 1, user: 'u-1', inContext: true });
    const spans = await waitForSpans(exporter, (s) => s.some((x) => x.name === 'POST /api/items/:id'));
    const server = serverSpan(spans, 'POST /api/items/:id');
    const lookup = spans.find((s) => s.name === 'lookup');
    expect(lookup?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(server.attributes['user.id']).toBe('u-1');
    expect(res.headers['x-trace-id']).toBe(server.spanContext().traceId);
    const metrics = parseMetrics((await request(url).get('/metrics').expect(200)).text);
    expect(find(metrics, 'http_server_requests_total', { route: '/api/items/:id', status_code: '200' })[0]?.value).toBe(1);
  });

  test('concurrent requests each get their own context back', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const answers = await Promise.all(users.map((u, i) => request(url).post(`/api/items/${i}`).send({ user: u }).expect(200)));
    expect(answers.map((a) => a.body.user)).toEqual(users);
  });
});
