/**
 * LLM budgets (issue 15 item 5) on real apps: real requests through Express, Fastify and the
 * node adapter, the real `openai` SDK against the testkit's LLM server, spend crossing a budget,
 * the 429 before the provider is called, the cheaper model, the warning, and the UTC windows
 * rolling over with an injected clock.
 */
import express from 'express';
import Fastify from 'fastify';
import OpenAI from 'openai';
import { llmscope, setFeature, traceLLM, instrumentOpenAI, type LlmscopeOptions, type BudgetExhaustion } from '@llmscope/express';
import { llmscope as llmscopeFastify } from '@llmscope/fastify';
import { withLlmscope } from '@llmscope/node';
import { LlmServer, find, listen, parseMetrics, type Listening, type Sample } from '@llmscope/testkit';

let llm: LlmServer;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  llm = await LlmServer.start();
});
beforeEach(() => {
  // 100 tokens a call: 1 USD with `big`, 0.1 USD with `small` (prices below).
  llm.defaults = { usage: { input: 60, output: 40 } };
});
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
  llm.reset();
});
afterAll(() => llm.close());

const prices = { big: { inputPerMTok: 10_000, outputPerMTok: 10_000 }, small: { inputPerMTok: 1_000, outputPerMTok: 1_000 } };

/** A clock the test moves: starts on 29 November 2026, 23:00 UTC. */
function clock(): { now: () => number; set: (iso: string) => void } {
  let t = Date.UTC(2026, 10, 29, 23);
  return { now: () => t, set: (iso) => { t = Date.parse(iso); } };
}

function client(): OpenAI {
  return instrumentOpenAI(new OpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL, maxRetries: 0 }));
}

/** An Express app whose `POST /chat` (feature `chat`) asks the LLM server through the instrumented SDK. */
async function expressApp(options: LlmscopeOptions<express.Request>): Promise<Listening> {
  const app = express();
  app.use(llmscope({ metrics: { defaultMetrics: false }, tracing: false, llm: { prices }, ...options }));
  const openai = client();
  app.post('/chat', async (req, res) => {
    setFeature('chat');
    const reply = await openai.chat.completions.create({ model: String(req.query.model ?? 'big'), messages: [{ role: 'user', content: 'hi' }] });
    res.json({ model: reply.model });
  });
  app.post('/search', async (_req, res) => {
    setFeature('search');
    const reply = await openai.chat.completions.create({ model: 'big', messages: [{ role: 'user', content: 'hi' }] });
    res.json({ model: reply.model });
  });
  const listening = await listen(app);
  closers.push(() => listening.close());
  return listening;
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return { text, samples: parseMetrics(text) };
}

function value(s: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = find(s, name, labels);
  return found.length === 0 ? undefined : found.reduce((n, x) => n + x.value, 0);
}

const post = (url: string, headers: Record<string, string> = {}): Promise<Response> => fetch(url, { method: 'POST', headers });

describe('a feature budget that rejects (Express)', () => {
  test('spend crosses the daily budget: the next call is a 429 before the provider is called; the windows roll over at UTC midnight and on the 1st', async () => {
    const c = clock();
    const app = await expressApp({ budgets: { features: { chat: { daily: { usd: 2 }, monthly: { usd: 3 } } }, onExhausted: 'reject', now: c.now } });
    expect((await post(`${app.url}/chat`)).status).toBe(200);
    expect((await post(`${app.url}/chat`)).status).toBe(200);
    expect(llm.requests).toHaveLength(2);

    let res = await post(`${app.url}/chat`);
    expect(res.status).toBe(429);
    // One hour to the end of 29 November (UTC).
    expect(res.headers.get('retry-after')).toBe('3600');
    expect(llm.requests).toHaveLength(2);
    // Another feature is not limited by the chat budget.
    expect((await post(`${app.url}/search`)).status).toBe(200);
    expect(llm.requests).toHaveLength(3);

    let { samples } = await scrape(app.url);
    expect(value(samples, 'llmscope_budget_usd', { feature: 'chat', window: 'daily' })).toBe(2);
    expect(value(samples, 'llmscope_budget_usd', { feature: 'chat', window: 'monthly' })).toBe(3);
    expect(value(samples, 'llmscope_budget_spent_usd', { feature: 'chat', window: 'daily' })).toBeCloseTo(2, 10);
    expect(value(samples, 'llmscope_budget_utilization_ratio', { feature: 'chat', window: 'daily', unit: 'usd' })).toBeCloseTo(1, 10);
    expect(value(samples, 'llmscope_budget_utilization_ratio', { feature: 'chat', window: 'monthly', unit: 'usd' })).toBeCloseTo(2 / 3, 10);
    expect(find(samples, 'llmscope_budget_usd', { feature: 'search' })).toHaveLength(0);
    expect(value(samples, 'llmscope_budget_enforced_total', { scope: 'feature', action: 'reject' })).toBe(1);
    expect(value(samples, 'llmscope_budget_exhausted_total', { scope: 'feature', window: 'daily', unit: 'usd' })).toBe(1);
    // The rejected call is no provider error and no LLM call; the request is a 429.
    expect(value(samples, 'gen_ai_client_operation_duration_seconds_count', {})).toBe(3);
    expect(value(samples, 'llmscope_llm_errors_total', {}) ?? 0).toBe(0);
    expect(value(samples, 'http_server_requests_total', { route: '/chat', status_code: '429' })).toBe(1);

    // 30 November, 01:00 UTC: a new day (1 USD left of the month).
    c.set('2026-11-30T01:00:00Z');
    samples = (await scrape(app.url)).samples;
    expect(value(samples, 'llmscope_budget_spent_usd', { feature: 'chat', window: 'daily' })).toBe(0);
    expect(value(samples, 'llmscope_budget_spent_usd', { feature: 'chat', window: 'monthly' })).toBeCloseTo(2, 10);
    expect((await post(`${app.url}/chat`)).status).toBe(200);
    res = await post(`${app.url}/chat`);
    expect(res.status).toBe(429);
    // The monthly budget now: 23 hours to 1 December.
    expect(res.headers.get('retry-after')).toBe(String(23 * 3600));
    expect(llm.requests).toHaveLength(4);

    // 1 December: a new month.
    c.set('2026-12-01T00:00:01Z');
    expect((await post(`${app.url}/chat`)).status).toBe(200);
    samples = (await scrape(app.url)).samples;
    expect(value(samples, 'llmscope_budget_spent_usd', { feature: 'chat', window: 'monthly' })).toBeCloseTo(1, 10);
    expect(value(samples, 'llmscope_budget_exhausted_total', { scope: 'feature', window: 'monthly', unit: 'usd' })).toBe(1);
  });
});

describe('per-user token budgets (node adapter)', () => {
  test('a user over the limit gets 429s, others do not; users are never labels and at most maxUsers are tracked', async () => {
    const c = clock();
    const handler = withLlmscope(async (_req, res) => {
      // traceLLM around a raw call: the model it is given is the one to send.
      const raw = new OpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL, maxRetries: 0 });
      const reply = await traceLLM({ model: 'small', provider: 'openai' }, (call) => raw.chat.completions.create({ model: call.model, messages: [{ role: 'user', content: 'hi' }] }));
      res.end(reply.model);
    }, { metrics: { defaultMetrics: false }, tracing: false, llm: { prices }, budgets: { perUser: { daily: { tokens: 150 }, maxUsers: 2 }, onExhausted: 'reject', now: c.now } });
    const app = await listen(handler);
    closers.push(() => app.close(), () => handler.llmscope.shutdown());
    const as = (user: string): Promise<Response> => post(app.url, { 'x-user-id': user });

    expect((await as('alice@example.com')).status).toBe(200);
    expect((await as('alice@example.com')).status).toBe(200);
    const rejected = await as('alice@example.com');
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('retry-after')).toBe('3600');
    expect(await rejected.text()).toBe('Too Many Requests\n');
    expect((await as('bob')).status).toBe(200);
    expect(llm.requests).toHaveLength(3);

    const { text, samples } = await scrape(app.url);
    expect(text).not.toContain('alice');
    expect(text).not.toContain('bob');
    expect(value(samples, 'llmscope_budget_enforced_total', { scope: 'user', action: 'reject' })).toBe(1);
    expect(value(samples, 'llmscope_budget_exhausted_total', { scope: 'user', window: 'daily', unit: 'tokens' })).toBe(1);
    // Per-user limits have no gauges: one series per user would be unbounded.
    expect(find(samples, 'llmscope_budget_tokens')).toHaveLength(0);

    // Two more users push alice out of the bounded memory (maxUsers 2): she starts again from 0.
    expect((await as('carol')).status).toBe(200);
    expect(handler.llmscope.budgets?.trackedUsers).toBe(2);
    expect((await as('alice@example.com')).status).toBe(200);
    expect(handler.llmscope.budgets?.trackedUsers).toBe(2);
  });
});

describe('switching to a cheaper model (Fastify)', () => {
  test('onExhausted decides per call with what was exhausted; its reject answers 429 through Fastify\'s error handling', async () => {
    const c = clock();
    const seen: BudgetExhaustion[] = [];
    const app = Fastify();
    await app.register(llmscopeFastify, {
      metrics: { defaultMetrics: false }, tracing: false, llm: { prices },
      budgets: {
        total: { daily: { usd: 1.5 } },
        onExhausted: (e) => {
          seen.push(e);
          return e.spent >= 1.75 ? 'reject' : { model: 'small' };
        },
        now: c.now,
      },
    });
    const openai = client();
    app.post('/chat', async () => {
      const reply = await openai.chat.completions.create({ model: 'big', messages: [{ role: 'user', content: 'hi' }] });
      return { model: reply.model };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

    expect(await (await post(`${url}/chat`)).json()).toEqual({ model: 'big' });
    expect(await (await post(`${url}/chat`)).json()).toEqual({ model: 'big' });
    // 2 USD spent of 1.5: the hook decides, and past 1.75 it rejects.
    const res = await post(`${url}/chat`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3600');
    expect(seen[0]).toMatchObject({ scope: 'total', window: 'daily', unit: 'usd', limit: 1.5, model: 'big', provider: 'openai', feature: undefined, userId: undefined });
    expect(seen[0]?.resetsAt.toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(llm.requests.map((r) => r.body.model)).toEqual(['big', 'big']);
  });

  test('the cheaper model reaches the provider and the metrics; the next day the requested model is back', async () => {
    const c = clock();
    const app = await expressApp({ budgets: { total: { daily: { usd: 1 } }, onExhausted: () => ({ model: 'small' }), now: c.now } });
    for (let i = 0; i < 3; i++) expect((await post(`${app.url}/chat`)).status).toBe(200);
    expect(llm.requests.map((r) => r.body.model)).toEqual(['big', 'small', 'small']);
    const { samples } = await scrape(app.url);
    expect(value(samples, 'gen_ai_client_operation_duration_seconds_count', { model: 'small' })).toBe(2);
    expect(value(samples, 'llmscope_budget_enforced_total', { scope: 'total', action: 'downgrade' })).toBe(2);
    expect(value(samples, 'llmscope_budget_spent_usd', { feature: '_total', window: 'daily' })).toBeCloseTo(1.2, 10);
    c.set('2026-11-30T00:00:00Z');
    expect((await post(`${app.url}/chat`)).status).toBe(200);
    expect(llm.requests.at(-1)?.body.model).toBe('big');
  });
});

describe('warn (the default)', () => {
  test('calls go on; one warning when a budget is exhausted, again in the next window only', async () => {
    const c = clock();
    // The warning is what this test checks: caught here instead of printed.
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const warnings = (): string[] => warn.mock.calls.filter((a) => String(a[1]) === 'LlmscopeWarning' && String(a[0]).includes('budget')).map((a) => String(a[0]));
    try {
      const app = await expressApp({ budgets: { total: { daily: { usd: 1.5, tokens: 1000 } }, now: c.now } });
      for (let i = 0; i < 4; i++) expect((await post(`${app.url}/chat`)).status).toBe(200);
      expect(warnings()).toEqual(["llmscope: the total daily USD budget is exhausted (2 of 1.5); calls go on (budgets.onExhausted is \"warn\") until 2026-11-30T00:00:00.000Z."]);
      c.set('2026-11-30T12:00:00Z');
      for (let i = 0; i < 2; i++) expect((await post(`${app.url}/chat`)).status).toBe(200);
      expect(warnings()).toHaveLength(2);
      const { samples } = await scrape(app.url);
      expect(value(samples, 'llmscope_budget_tokens', { feature: '_total', window: 'daily' })).toBe(1000);
      expect(value(samples, 'llmscope_budget_spent_tokens', { feature: '_total', window: 'daily' })).toBe(200);
      expect(value(samples, 'llmscope_budget_utilization_ratio', { feature: '_total', window: 'daily', unit: 'tokens' })).toBeCloseTo(0.2, 10);
      expect(value(samples, 'llmscope_budget_enforced_total', {}) ?? 0).toBe(0);
      expect(llm.requests).toHaveLength(6);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('options', () => {
  test.each([
    [{ total: { daily: { usd: -1 } } }, 'option `budgets.total.daily.usd` must be a budget in US dollars, a finite number >= 0 such as 5, got -1.'],
    [{ total: { daily: { tokens: 1.5 } } }, 'option `budgets.total.daily.tokens` must be a budget in tokens, a positive integer such as 2000000, got 1.5.'],
    [{ total: { daily: {} } }, 'option `budgets.total.daily` must be an object such as { usd: 5 } or { usd: 5, tokens: 2000000 } (usd, tokens or both), got an object.'],
    [{ total: { dialy: { usd: 1 } } }, 'unknown option `budgets.total.dialy`. Did you mean `budgets.total.daily`?'],
    [{ features: { chat: { weekly: { usd: 1 } } } }, 'unknown option `budgets.features["chat"].weekly`.'],
    [{ perUser: { daily: { usd: 1 }, maxUsers: 0 } }, 'option `budgets.perUser.maxUsers` must be a positive integer, got 0.'],
    [{ total: { daily: { usd: 1 } }, onExhausted: 'block' }, 'option `budgets.onExhausted` must be one of warn, reject, got "block".'],
    [{}, 'option `budgets` sets no budget'],
  ])('%j is refused at start-up', (budgets, message) => {
    expect(() => llmscope({ metrics: false, tracing: false, budgets: budgets as never })).toThrow(message);
  });

  test('no budgets: no gate, no gauges', async () => {
    const app = await expressApp({});
    expect((await post(`${app.url}/chat`)).status).toBe(200);
    const { samples } = await scrape(app.url);
    expect(find(samples, 'llmscope_budget_usd')).toHaveLength(0);
  });
});
