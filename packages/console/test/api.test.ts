import request from 'supertest';
import express from 'express';
import { listen, type Listening } from '@llmscope/testkit';
import { llmscope, traceLLM, score } from '@llmscope/express';
import { llmscopeConsole, SECURITY_HEADERS, type LlmscopeConsole, type TraceEntry } from '../src';
import { createApp } from '../../../examples/express-rag/src/app';

const open: Listening[] = [];
const consoles: LlmscopeConsole[] = [];
afterAll(async () => {
  for (const c of consoles) c.close();
  await Promise.all(open.map((l) => l.close()));
});

/** Polls an async check until it gives a value (the store is fed when responses close, spans after them). */
async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function serve(app: express.Express): Promise<string> {
  const l = await listen(app);
  open.push(l);
  return l.url;
}

describe('the console on the Express example', () => {
  let url: string;
  let traceId: string;
  beforeAll(async () => {
    const app = createApp({ speed: 0, judgeSampleRate: 1 });
    // The example mounts its console (examples/express-rag/src/app.ts).
    consoles.push(app.console as LlmscopeConsole);
    url = await serve(app);
    const res = await request(url).post('/chat').set('x-user-id', 'alice').set('x-session-id', 's-1').send({ question: 'How do I reset my password?' }).expect(200);
    traceId = res.body.traceId as string;
    await request(url).post('/chat').set('x-user-id', 'bob').send({ question: '' }).expect(400);
  });

  test('the request list: newest first, identity, LLM totals; filters; bad parameters answered 400', async () => {
    const list = await eventually(async () => {
      const r = await request(url).get('/llmscope/api/requests').expect(200);
      return r.body.requests.length === 2 ? r : undefined;
    }, 'two requests');
    expect(list.headers['cache-control']).toBe('no-store');
    expect(list.headers['content-security-policy']).toBe(SECURITY_HEADERS['content-security-policy']);
    const [bad, good] = list.body.requests;
    expect(bad).toMatchObject({ method: 'POST', route: '/chat', status: 400, userId: 'bob', llmCalls: 0 });
    expect(good).toMatchObject({ id: traceId, traceId, method: 'POST', route: '/chat', status: 200, userId: 'alice', sessionId: 's-1', llmCalls: 1 });
    expect(good.costUsd).toBeGreaterThan(0);
    expect(good.inputTokens).toBeGreaterThan(0);
    expect((await request(url).get('/llmscope/api/requests?status=4xx').expect(200)).body.requests).toHaveLength(1);
    expect((await request(url).get('/llmscope/api/requests?user=alice').expect(200)).body.requests[0].id).toBe(traceId);
    expect((await request(url).get('/llmscope/api/requests?q=BOB').expect(200)).body.requests).toHaveLength(1);
    for (const q of ['status=abc', 'limit=0', 'limit=x', 'errors=maybe', 'nope=1', 'user=a&user=b']) {
      const r = await request(url).get(`/llmscope/api/requests?${q}`).expect(400);
      expect(r.body.error).toEqual(expect.any(String));
    }
    await request(url).get('/llmscope/api/cost?by=planet').expect(400);
    await request(url).get('/llmscope/api/nothing').expect(404);
    await request(url).post('/llmscope/api/requests').expect(405);
    // Own routes are not app traffic: the console's requests are not in the list.
    expect((await request(url).get('/llmscope/api/requests').expect(200)).body.total).toBe(2);
  });

  test('one trace: the RAG steps and the LLM call as spans, the call with model, tokens, cost and prompt version, its scores', async () => {
    const t = await eventually(async () => {
      const r = await request(url).get(`/llmscope/api/traces/${traceId}`).expect(200);
      const body = r.body as TraceEntry;
      return body.spans.some((s) => s.name.startsWith('POST')) && body.scores.length > 0 ? body : undefined;
    }, 'the spans and scores of the trace');
    expect(t.spans.map((s) => s.name)).toEqual(expect.arrayContaining(['embed_query', 'vector_search', 'chat sim-gpt', 'POST /chat']));
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]).toMatchObject({ model: 'sim-gpt', outcome: 'ok', promptName: 'rag-answer' });
    expect(t.calls[0]!.promptVersion).toEqual(expect.any(String));
    expect(t.calls[0]!.costUsd).toBeGreaterThan(0);
    expect(t.scores.map((s) => s.name)).toEqual(expect.arrayContaining(['relevance']));
    await request(url).get('/llmscope/api/traces/0123').expect(404);
  });

  test('sessions, cost by dimension, prompt versions, latency', async () => {
    const sessions = (await request(url).get('/llmscope/api/sessions').expect(200)).body.sessions;
    expect(sessions).toEqual([expect.objectContaining({ sessionId: 's-1', userId: 'alice', requests: 1, llmCalls: 1 })]);
    const session = (await request(url).get('/llmscope/api/sessions/s-1').expect(200)).body;
    expect(session.requests.map((r: { id: string }) => r.id)).toEqual([traceId]);
    const byUser = (await request(url).get('/llmscope/api/cost?by=user&buckets=10').expect(200)).body;
    const alice = byUser.rows.find((r: { key: string }) => r.key === 'alice');
    expect(alice.calls).toBeGreaterThanOrEqual(1);
    expect(alice.series).toHaveLength(10);
    expect(alice.tokenSeries).toHaveLength(10);
    expect(alice.tokenSeries.reduce((a: number, b: number) => a + b, 0)).toBe(alice.inputTokens + alice.outputTokens);
    // The total covers every key (the chart's "other" band is the total less the keys drawn).
    expect(byUser.total.costUsd).toBeCloseTo(byUser.rows.reduce((a: number, r: { costUsd: number }) => a + r.costUsd, 0), 12);
    expect(byUser.bucketMs).toBe(byUser.windowMinutes * 60_000 / 10);
    const prompts = (await request(url).get('/llmscope/api/prompts').expect(200)).body;
    expect(prompts.versions[0]).toMatchObject({ prompt: 'rag-answer', calls: expect.any(Number) });
    // No guard on the example's prompt: no rollout state, no events.
    expect(prompts.guards).toEqual({});
    expect(prompts.events).toEqual([]);
    const latency = (await request(url).get('/llmscope/api/latency').expect(200)).body;
    expect(latency.routes.map((r: { key: string }) => r.key)).toContain('POST /chat');
    expect(latency.models.map((r: { key: string }) => r.key)).toContain('sim-gpt');
  });

  test('the UI: the page and its two assets from memory, with a strict CSP and no-store', async () => {
    const page = await request(url).get('/llmscope').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).toContain('<meta name="llmscope-base" content="/llmscope">');
    await request(url).get('/llmscope/').expect(200);
    const js = await request(url).get('/llmscope/assets/app.js').expect(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // Nothing from the store becomes HTML: the UI never assigns markup.
    expect(js.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    await request(url).get('/llmscope/assets/app.css').expect(200);
    await request(url).get('/llmscope/assets/other.js').expect(404);
    // The example's feedback route under the same prefix still answers its posts (its own
    // authorize refuses this one; the read-only console would have said 405).
    await request(url).post('/llmscope/feedback').send({}).expect(403);
  });
});

describe('safe by default', () => {
  const env = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = env;
  });

  test('off in production without authorize or token (with a warning); enabled: true there throws', () => {
    process.env.NODE_ENV = 'production';
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const c = llmscopeConsole(llmscope({ tracing: false, metrics: false }).llmscope);
      expect(c.enabled).toBe(false);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/console: not mounted at \/llmscope/);
      expect(() => llmscopeConsole(llmscope({ tracing: false, metrics: false }).llmscope, { enabled: true })).toThrow(/authorize.*token/);
    } finally {
      warn.mockRestore();
    }
  });

  test('in production with authorize: refused requests get 403, allowed ones the console', async () => {
    process.env.NODE_ENV = 'production';
    const mw = llmscope({ tracing: false, metrics: false });
    const c = llmscopeConsole(mw.llmscope, { authorize: (req) => (req as express.Request).headers['x-admin'] === 'yes', path: '/ops/console' });
    consoles.push(c);
    expect(c.enabled).toBe(true);
    const app = express();
    app.use(mw);
    const url = await serve(app);
    await request(url).get('/ops/console').expect(403);
    await request(url).get('/ops/console/api/requests').set('x-admin', 'yes').expect(200);
    const page = await request(url).get('/ops/console').set('x-admin', 'yes').expect(200);
    expect(page.text).toContain('content="/ops/console"');
  });

  test('with a token: 401 without it, in a header or the query', async () => {
    const mw = llmscope({ tracing: false, metrics: false });
    consoles.push(llmscopeConsole(mw.llmscope, { token: 'a-long-enough-token' }));
    const app = express();
    app.use(mw);
    const url = await serve(app);
    const r = await request(url).get('/llmscope/api/requests').expect(401);
    expect(r.headers['www-authenticate']).toBe('Bearer');
    await request(url).get('/llmscope/api/requests?token=wrong').expect(401);
    await request(url).get('/llmscope/api/requests?token=a-long-enough-token').expect(200);
    await request(url).get('/llmscope/api/requests').set('authorization', 'Bearer a-long-enough-token').expect(200);
  });

  test('errors and captured content are shown redacted as the exporters redact them', async () => {
    const mw = llmscope({ metrics: false });
    consoles.push(llmscopeConsole(mw.llmscope));
    const app = express();
    app.use(mw);
    app.get('/fail', () => {
      throw new Error('no account for bob@example.com with sk-abcdefghijklmnopqrstuvwxyz123456');
    });
    const url = await serve(app);
    await request(url).get('/fail').expect(500);
    const list = await eventually(async () => {
      const r = (await request(url).get('/llmscope/api/requests').expect(200)).body;
      return r.total === 1 ? r : undefined;
    }, 'the failed request');
    const error = list.requests[0].error as string;
    expect(error).toContain('[EMAIL]');
    expect(error).not.toContain('bob@example.com');
    expect(error).not.toContain('sk-abcdefghijklmnopqrstuvwxyz123456');
    const trace = (await request(url).get(`/llmscope/api/traces/${list.requests[0].id as string}`).expect(200)).body as TraceEntry;
    expect(JSON.stringify(trace)).not.toContain('bob@example.com');
  });

  test('bad options fail fast', () => {
    const scope = llmscope({ tracing: false, metrics: false }).llmscope;
    expect(() => llmscopeConsole(scope, { path: 'llmscope' })).toThrow(/path/);
    expect(() => llmscopeConsole(scope, { path: '/a/' })).toThrow(/path/);
    expect(() => llmscopeConsole(scope, { maxRequests: 0 })).toThrow(/maxRequests/);
    expect(() => llmscopeConsole(scope, { token: 'short' })).toThrow(/16/);
    expect(() => llmscopeConsole(scope, { colour: 'red' } as never)).toThrow(/unknown option `colour`/);
    expect(() => llmscopeConsole({} as never)).toThrow(/llmscope instance/);
  });

  test('the store is bounded: the oldest requests go past maxRequests; untraced requests and calls are kept', async () => {
    const mw = llmscope({ tracing: false, metrics: false });
    const c = llmscopeConsole(mw.llmscope, { maxRequests: 5, maxCalls: 3 });
    consoles.push(c);
    const app = express();
    app.use(mw);
    app.get('/n/:i', async (req, res) => {
      await traceLLM({ model: 'm', provider: 'p' }, async () => ({ usage: { prompt_tokens: 1, completion_tokens: 1 } }));
      score({ name: 'x', value: 1 });
      res.send(req.params.i);
    });
    const url = await serve(app);
    for (let i = 0; i < 8; i++) await request(url).get(`/n/${i}`).expect(200);
    const list = await eventually(async () => {
      const r = (await request(url).get('/llmscope/api/requests').expect(200)).body;
      return r.total === 5 ? r : undefined;
    }, 'five requests');
    expect(list.requests.map((r: { id: string }) => r.id)).toEqual(['r8', 'r7', 'r6', 'r5', 'r4']);
    expect(list.requests[0]).toMatchObject({ route: '/n/:i', llmCalls: 1 });
    expect(c.store?.stats()).toMatchObject({ requests: 5, calls: 3 });
  });
});
