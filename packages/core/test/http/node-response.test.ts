import type { IncomingMessage, ServerResponse } from 'node:http';
import request from 'supertest';
import { listen, waitFor, type Listening } from '@llmscope/testkit';
import { Llmscope } from '../../src';
import { isMetricsRequest, respondWithError, serveMetrics, startNodeRequest } from '../../src/adapter';

const open: Listening[] = [];
afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const l = await listen(handler);
  open.push(l);
  return l.url;
}

describe('isMetricsRequest', () => {
  const scope = new Llmscope({ tracing: false });
  const cases: [string | undefined, string | undefined, boolean][] = [
    ['GET', '/metrics', true],
    ['HEAD', '/metrics', true],
    ['GET', '/metrics?name[]=up', true],
    ['GET', '/metrics?', true],
    ['POST', '/metrics', false],
    ['GET', '/metricsx', false],
    ['GET', '/metrics/', false],
    ['GET', '/metric', false],
    ['GET', '/api/metrics', false],
    ['GET', undefined, false],
    [undefined, '/metrics', false],
  ];
  test.each(cases)('%s %s → %s', (method, url, expected) => {
    expect(isMetricsRequest(scope, method, url)).toBe(expected);
  });

  test('a custom path, and no endpoint at all', () => {
    expect(isMetricsRequest(new Llmscope({ tracing: false, metrics: { path: '/internal/prom' } }), 'GET', '/internal/prom?x')).toBe(true);
    expect(isMetricsRequest(new Llmscope({ tracing: false, metrics: false }), 'GET', '/metrics')).toBe(false);
  });
});

describe('serveMetrics', () => {
  test('writes status, headers and body on a raw response; HEAD gets the headers only', async () => {
    const scope = new Llmscope({ tracing: false });
    const url = await serve((req, res) => void serveMetrics(scope, req, res));
    const get = await request(url).get('/metrics').expect(200);
    expect(get.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(get.headers['cache-control']).toBe('no-store');
    expect(get.text).toContain('http_server_active_requests');
    expect(get.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
    // Default process metrics change between scrapes, so HEAD's length is only checked to be set.
    const head = await request(url).head('/metrics').expect(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.text ?? '').toBe('');
  });

  test('401 with www-authenticate when the bearer token is missing', async () => {
    const scope = new Llmscope({ tracing: false, metrics: { bearerToken: 't' } });
    const url = await serve((req, res) => void serveMetrics(scope, req, res));
    const res = await request(url).get('/metrics').expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('startNodeRequest and respondWithError', () => {
  test('finishes the request once, on close, with the status sent; an error answers 500', async () => {
    const scope = new Llmscope({ tracing: false });
    const finished: number[] = [];
    const finish = scope.finishRequest.bind(scope);
    scope.finishRequest = (ctx, status) => {
      finished.push(status);
      finish(ctx, status);
    };
    const url = await serve((req, res) => {
      const ctx = startNodeRequest(scope, req, res);
      scope.run(ctx, () => {
        if (req.url === '/fail') respondWithError(scope, ctx, res, new Error('x'));
        else res.end('ok');
      });
    });
    await request(url).get('/').expect(200);
    const failed = await request(url).get('/fail').expect(500);
    expect(failed.text).toBe('Internal Server Error\n');
    // Finished when the response has ended, which may be after the client has it: awaited (a
    // fixed 20 ms is not always enough on a loaded CI machine).
    await waitFor(() => finished.length >= 2, 10_000, 'both requests finished');
    expect(finished).toEqual([200, 500]);
  });
});
