import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import request from 'supertest';
import { listen, waitFor, type Listening } from '@llmscope/testkit';
import { Llmscope, type RequestRecord } from '../../src';
import { serveOwnRoute, startNodeRequest } from '../../src/adapter';

const open: Listening[] = [];
afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
});

/** A node:http app behind the kit, as the adapters run it: own routes first, then the app. */
async function app(scope: Llmscope): Promise<string> {
  const l = await listen((req: IncomingMessage, res: ServerResponse) => {
    if (serveOwnRoute(scope, req, res)) return;
    const ctx = startNodeRequest(scope, req, res);
    scope.run(ctx, () => {
      scope.setRoute(ctx, '/hello');
      res.end('hi');
    });
  });
  open.push(l);
  return l.url;
}

describe('own routes (addRoute)', () => {
  test('answers under its prefix with path and query, before the app, not counted as app traffic', async () => {
    const scope = new Llmscope({ tracing: false });
    scope.addRoute('/own', (r) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: r.method, path: r.path, q: r.query.get('q') }) }));
    const url = await app(scope);
    expect((await request(url).get('/own/a/b?q=1').expect(200)).body).toEqual({ method: 'GET', path: '/a/b', q: '1' });
    expect((await request(url).get('/own').expect(200)).body).toEqual({ method: 'GET', path: '', q: null });
    expect((await request(url).get('/own?q=2').expect(200)).body.q).toBe('2');
    await request(url).get('/ownx').expect(200, 'hi');
    const metrics = (await scope.handleMetrics(undefined)).body;
    expect(metrics).toContain('http_server_request_duration_seconds_count{method="GET",route="/hello",status_code="200"} 1');
    expect(metrics).not.toContain('/own');
  });

  test('a handler that throws gets a 500; a bad prefix or a second route on the same prefix throws', async () => {
    const scope = new Llmscope({ tracing: false });
    scope.addRoute('/boom', () => {
      throw new Error('no');
    });
    const url = await app(scope);
    await request(url).get('/boom').expect(500);
    for (const bad of ['', 'x', '/x/', '/x?y', 3]) expect(() => scope.addRoute(bad as string, () => ({ status: 200, headers: {}, body: '' }))).toThrow(/prefix/);
    expect(() => scope.addRoute('/boom', () => ({ status: 200, headers: {}, body: '' }))).toThrow(/already mounted/);
  });

  test('streams server-sent events and stops the stream when the client goes away', async () => {
    const scope = new Llmscope({ tracing: false });
    let stopped!: () => void;
    const stop = new Promise<void>((resolve) => (stopped = resolve));
    scope.addRoute('/events', () => ({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      start: (send) => {
        send('data: one\n\n');
        return stopped;
      },
    }));
    const url = await app(scope);
    const first = await new Promise<string>((resolve, reject) => {
      const req = http.get(url + '/events', (res) => {
        res.setEncoding('utf8');
        res.once('data', (chunk: string) => {
          resolve(chunk);
          req.destroy();
        });
      });
      req.on('error', reject);
    });
    expect(first).toBe('data: one\n\n');
    await stop;
  });

  test('onRequest: each finished app request once, with route, status, identity and duration; removable', async () => {
    const scope = new Llmscope({ tracing: false });
    const seen: RequestRecord[] = [];
    const remove = scope.onRequest((r) => seen.push(r));
    scope.onRequest(() => {
      throw new Error('a throwing sink is skipped');
    });
    // Every record, for the whole test: a later request reaching it proves an earlier one was
    // delivered or never will be (records come when a response ends, which a loaded CI machine
    // can delay past a fixed sleep).
    const all: RequestRecord[] = [];
    scope.onRequest((r) => all.push(r));
    scope.addRoute('/own', () => ({ status: 204, headers: {}, body: '' }));
    const url = await app(scope);
    await request(url).get('/hello').set('x-user-id', 'u1').set('x-session-id', 's1').expect(200);
    await request(url).get('/own').expect(204);
    await request(url).get('/hello').expect(200);
    await waitFor(() => all.length >= 2, 10_000, 'the records of both /hello requests');
    // The own route in between made none.
    expect(seen.map((r) => r.route)).toEqual(['/hello', '/hello']);
    expect(seen[0]).toMatchObject({ method: 'GET', route: '/hello', matched: true, statusCode: 200, userId: 'u1', sessionId: 's1', traceId: undefined, llm: undefined });
    expect(seen[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(seen[0]!.startTimeMs - Date.now())).toBeLessThan(60_000);
    remove();
    await request(url).get('/hello').expect(200);
    await waitFor(() => all.length >= 3, 10_000, 'the record of the last /hello');
    expect(seen).toHaveLength(2);
  });
});
