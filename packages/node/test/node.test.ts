import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import request from 'supertest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import withLlmscopeDefault, { getContext, setRoute, setUser, tag, withLlmscope, LlmscopeConfigError, type NodeHandler } from '../src';
import { memoryExporter, waitForSpans, find, listen, parseMetrics, type Listening } from '@llmscope/testkit';

const exporter = memoryExporter();
const open: Listening[] = [];

async function serve(handler: NodeHandler, options?: Parameters<typeof withLlmscope>[1]): Promise<string> {
  const l = await listen(withLlmscope(handler, options));
  open.push(l);
  return l.url;
}

afterEach(() => exporter.reset());
afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
});

function servers(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.SERVER);
}

async function metrics(url: string) {
  const res = await request(url).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

const ok: NodeHandler = (_req, res) => {
  res.end('ok');
};

describe('withLlmscope', () => {
  test('returns a request listener carrying its instance; the default export is the same function', () => {
    const handler = withLlmscope(ok);
    expect(typeof handler).toBe('function');
    expect(handler.llmscope.metricsPath).toBe('/metrics');
    expect(withLlmscopeDefault).toBe(withLlmscope);
  });

  test('invalid options throw at start-up', () => {
    expect(() => withLlmscope(ok, { maxRoutes: -1 } as never)).toThrow(LlmscopeConfigError);
  });

  test('requests are unmatched until the handler names its route; setRoute labels them', async () => {
    const url = await serve((req, res) => {
      if (req.url?.startsWith('/users/')) setRoute('/users/:id');
      res.end('ok');
    });
    await request(url).get('/users/1').expect(200);
    await request(url).get('/users/2?x=1').expect(200);
    await request(url).get('/other/3').expect(200);
    const s = await metrics(url);
    expect(find(s, 'http_server_requests_total', { route: '/users/:id', method: 'GET', status_code: '200' })[0]?.value).toBe(2);
    expect(find(s, 'http_server_requests_total', { route: 'unmatched', status_code: '200' })[0]?.value).toBe(1);
    const spans = servers(await waitForSpans(exporter, (x) => servers(x).length === 3));
    expect(spans.filter((x) => x.name === 'GET /users/:id' && x.attributes['http.route'] === '/users/:id')).toHaveLength(2);
    expect(spans.find((x) => x.attributes['url.path'] === '/other/3')?.name).toBe('GET');
  });

  test('setRoute outside a request, or with a non-string, does nothing', () => {
    expect(() => setRoute('/x')).not.toThrow();
    expect(() => setRoute(42 as unknown as string)).not.toThrow();
  });

  test('context follows awaits and the request body read with for await', async () => {
    const url = await serve(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      setUser('body-user');
      tag('size', body.length);
      await new Promise((r) => setTimeout(r, 1));
      res.end(JSON.stringify({ user: getContext()?.userId }));
    });
    const res = await request(url).post('/upload').send('hello').expect(200);
    expect(JSON.parse(res.text)).toEqual({ user: 'body-user' });
    const [span] = servers(await waitForSpans(exporter, (x) => servers(x).length === 1));
    expect(span?.attributes).toMatchObject({ 'user.id': 'body-user', 'llmscope.tag.size': 5 });
  });

  test('the trace id is returned in x-trace-id', async () => {
    const url = await serve(ok);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await request(url).get('/').set('traceparent', `00-${traceId}-b7ad6b7169203331-01`).expect(200);
    expect(res.headers['x-trace-id']).toBe(traceId);
  });
});

describe('errors', () => {
  test('a handler that throws gets a 500, an ERROR span and a 5xx metric; the server keeps serving', async () => {
    const url = await serve((req, res) => {
      setRoute('/boom');
      if (req.url === '/boom') throw new Error('sync boom');
      res.end('ok');
    });
    await request(url).get('/boom').expect(500);
    const [span] = servers(await waitForSpans(exporter, (x) => servers(x).length === 1));
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'sync boom' });
    expect(span?.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('sync boom');
    const s = await metrics(url);
    expect(find(s, 'http_server_requests_total', { route: '/boom', status_code: '500' })[0]?.value).toBe(1);
  });

  test('a handler that rejects gets a 500 with the error recorded', async () => {
    const url = await serve(async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('async boom');
    });
    await request(url).get('/').expect(500);
    const [span] = servers(await waitForSpans(exporter, (x) => servers(x).length === 1));
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'async boom' });
  });

  test('an error after the headers went out ends the connection instead of leaving the client waiting', async () => {
    const url = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('late boom');
    });
    await expect(request(url).get('/')).rejects.toThrow();
    const [span] = servers(await waitForSpans(exporter, (x) => servers(x).length === 1));
    expect(span?.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('late boom');
  });
});

describe('metrics endpoint', () => {
  test('GET and HEAD /metrics (with or without a query) are answered before the handler and not counted', async () => {
    let calls = 0;
    const url = await serve((_req, res) => {
      calls++;
      res.end('app');
    });
    await request(url).get('/metrics?name[]=x').expect(200);
    const head = await request(url).head('/metrics').expect(200);
    expect(head.text ?? '').toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(calls).toBe(0);
    // Other methods and longer paths belong to the app.
    await request(url).post('/metrics').expect(200, 'app');
    await request(url).get('/metricsx').expect(200, 'app');
    expect(calls).toBe(2);
    const s = await metrics(url);
    expect(find(s, 'http_server_requests_total').reduce((n, x) => n + x.value, 0)).toBe(2);
  });

  test('a bearer token protects it', async () => {
    const url = await serve(ok, { metrics: { bearerToken: 's3cret' } });
    await request(url).get('/metrics').expect(401);
    await request(url).get('/metrics').set('authorization', 'Bearer s3cret').expect(200);
  });
});

describe('hot path', () => {
  test('adds no property to Node\'s request and response objects', async () => {
    const keys: string[][] = [];
    const record = (req: IncomingMessage, res: ServerResponse) => {
      keys.push(Object.keys(req).sort(), Object.keys(res).sort());
      res.end('ok');
    };
    const bare = await listen(record);
    open.push(bare);
    await request(bare.url).get('/').expect(200);
    const url = await serve(record);
    await request(url).get('/').expect(200);
    expect(keys[2]).toEqual(keys[0]);
    expect(keys[3]).toEqual(keys[1]);
  });

  test('the connection stays usable across keep-alive requests (close fires once per response)', async () => {
    const url = new URL(await serve(ok));
    const socket = connect(Number(url.port), url.hostname);
    const got = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => {
        text += String(d);
        if (text.split('HTTP/1.1 200').length === 3) resolve(text);
      });
      socket.write('GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    socket.destroy();
    expect(got).toContain('ok');
    const s = servers(await waitForSpans(exporter, (x) => servers(x).length === 2));
    expect(s.map((x) => x.attributes['url.path']).sort()).toEqual(['/a', '/b']);
  });
});
