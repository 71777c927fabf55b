import type { IncomingMessage, ServerResponse } from 'node:http';
import { find, LangfuseServer, listen, parseMetrics, type Listening } from '@llmscope/testkit';
import { getPrompt, Llmscope, LlmscopePromptError, traceLLM, type LlmscopeOptions, type Prompt } from '../../src';
import { startNodeRequest } from '../../src/adapter';

// The real @langfuse/client against the testkit's Langfuse API (prompts, OTLP ingestion).

let server: LangfuseServer;
const open: Llmscope[] = [];
const listening: Listening[] = [];

beforeEach(async () => {
  server = await new LangfuseServer().start();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.shutdown()));
  await Promise.all(listening.splice(0).map((l) => l.close()));
  await server.close();
});

function langfuse(extra: Record<string, unknown> = {}): NonNullable<LlmscopeOptions<never>['prompts']>['langfuse'] {
  return { publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.url, ...extra };
}

function scope(options: LlmscopeOptions<never>): Llmscope {
  const s = new Llmscope({ tracing: false, exporters: false, ...options });
  open.push(s);
  return s;
}

async function fetches(s: Llmscope): Promise<Record<string, number>> {
  const samples = parseMetrics(await (s.registry as NonNullable<Llmscope['registry']>).metrics());
  const out: Record<string, number> = {};
  for (const x of find(samples, 'llmscope_prompt_fetches_total')) out[x.labels.result as string] = x.value;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Langfuse prompts', () => {
  test('fetched once, then served from the cache within the TTL (no second HTTP call); text and chat, config and labels', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'Answer {{question}}', config: { model: 'gpt-4o-mini', temperature: 0.1 }, labels: ['production'] });
    server.addPrompt({ name: 'chat', prompt: [{ role: 'system', content: 'About {{topic}}' }], labels: ['production'] });
    const s = scope({ prompts: { langfuse: langfuse() } });
    const first = await s.getPrompt('rag-answer');
    expect(first).toMatchObject({ name: 'rag-answer', version: '1', type: 'text', config: { model: 'gpt-4o-mini', temperature: 0.1 }, labels: ['production'], isFallback: false, source: 'langfuse' });
    expect(first.type === 'text' && first.compile({ question: 'Why?' })).toBe('Answer Why?');
    for (let i = 0; i < 5; i++) expect(await s.getPrompt('rag-answer')).toBe(first);
    expect(server.promptRequests).toEqual([{ name: 'rag-answer', version: null, label: 'production', status: 200 }]);
    const chat = await s.getPrompt('chat');
    expect(chat.type === 'chat' && chat.compile({ topic: 'refunds' })).toEqual([{ role: 'system', content: 'About refunds' }]);
    // A version and a label are cached apart.
    await s.getPrompt('rag-answer', { version: 1 });
    expect(server.promptRequests.map((r) => `${r.name} ${r.version ?? r.label}`)).toEqual(['rag-answer production', 'chat production', 'rag-answer 1']);
    expect(server.unauthorized).toBe(0);
    expect(await fetches(s)).toEqual({ miss: 3, hit: 5 });
  });

  test('after the TTL: the stale prompt is served at once while one background refresh fetches the new production version', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'one', labels: ['production'] });
    const s = scope({ prompts: { langfuse: langfuse({ cacheTtlSeconds: 0.2 }) } });
    expect((await s.getPrompt('rag-answer')).version).toBe('1');
    server.addPrompt({ name: 'rag-answer', prompt: 'two' });
    server.setLabel('rag-answer', 'production', 2);
    await sleep(300);
    // Stale: served from the cache, the refresh runs behind it (only one for concurrent gets).
    const stale = await Promise.all([s.getPrompt('rag-answer'), s.getPrompt('rag-answer'), s.getPrompt('rag-answer')]);
    expect(stale.map((p) => p.version)).toEqual(['1', '1', '1']);
    await server.waitForPromptRequests(2);
    // The refresh's answer reaches the cache a moment after the server got the request (more than
    // a fixed 50 ms on a loaded CI machine): gets until it is there, each one stale until then.
    let staleWhileRefreshing = 0;
    const deadline = Date.now() + 10_000;
    while ((await s.getPrompt('rag-answer')).prompt !== 'two') {
      staleWhileRefreshing++;
      if (Date.now() > deadline) throw new Error('the refreshed prompt never reached the cache');
      await sleep(20);
    }
    expect(server.promptRequests).toHaveLength(2);
    expect(await fetches(s)).toEqual({ miss: 1, stale: 3 + staleWhileRefreshing, hit: 1 });
  });

  test('Langfuse down with a cached prompt: the stale prompt keeps serving (not a fallback) and refreshes are spaced out', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'one', labels: ['production'] });
    const s = scope({ prompts: { langfuse: langfuse({ cacheTtlSeconds: 0.1, retryAfterSeconds: 30 }) } });
    await s.getPrompt('rag-answer');
    server.mode = 'fail';
    await sleep(150);
    const before = server.requestCount;
    for (let i = 0; i < 5; i++) {
      const p = await s.getPrompt('rag-answer');
      expect(p).toMatchObject({ version: '1', isFallback: false });
      await sleep(20);
    }
    // One refresh attempt, then none for retryAfterSeconds.
    expect(server.requestCount - before).toBe(1);
  });

  test('Langfuse down and nothing cached: the fallback is served (isFallback, version "fallback"), never an error; later gets do not wait on Langfuse', async () => {
    await server.close();
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const s = scope({ prompts: { langfuse: langfuse({ retryAfterSeconds: 30 }), local: [{ name: 'local-copy', version: 'v1', prompt: 'copy {{x}}', config: { model: 'm' } }] } });
      const fallback = await s.getPrompt('rag-answer', { fallback: 'Answer {{question}}' });
      expect(fallback).toMatchObject({ name: 'rag-answer', version: 'fallback', isFallback: true, source: 'fallback', labels: [] });
      expect(fallback.type === 'text' && fallback.compile({ question: 'q' })).toBe('Answer q');
      const chatFallback = await s.getPrompt('chat', { fallback: [{ role: 'system', content: 'hi {{x}}' }] });
      expect(chatFallback.type === 'chat' && chatFallback.compile({ x: 1 })).toEqual([{ role: 'system', content: 'hi 1' }]);
      // The local copy of a prompt is its fallback.
      const copy = await s.getPrompt('local-copy');
      expect(copy).toMatchObject({ version: 'fallback', isFallback: true, config: { model: 'm' } });
      expect(copy.type === 'text' && copy.compile({ x: 2 })).toBe('copy 2');
      // With neither, the caller learns why.
      await expect(s.getPrompt('nothing')).rejects.toThrow(LlmscopePromptError);
      await expect(s.getPrompt('nothing')).rejects.toThrow(/prompt "nothing" \(label production\): Langfuse could not be reached .*and there is no fallback: pass `fallback` to getPrompt\(\), or keep a local copy/);
      // Within retryAfterSeconds, a get answers from the remembered failure at once (the bound is loose: a loaded CI machine).
      const t = performance.now();
      await s.getPrompt('rag-answer', { fallback: 'x' });
      expect(performance.now() - t).toBeLessThan(1000);
      const samples = parseMetrics(await (s.registry as NonNullable<Llmscope['registry']>).metrics());
      expect(find(samples, 'llmscope_prompt_fallbacks_total', { prompt_name: 'rag-answer' })[0]?.value).toBe(2);
      const warnings = emitWarning.mock.calls.map((c) => String(c[0]));
      expect(warnings.filter((w) => w.includes('serving the fallback of prompt "rag-answer"'))).toHaveLength(1);
    } finally {
      emitWarning.mockRestore();
    }
  });

  test('Langfuse hanging: concurrent gets share one fetch, bounded by fetchTimeoutMs, then all get the fallback', async () => {
    server.mode = 'hang';
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const s = scope({ metrics: false, prompts: { langfuse: langfuse({ fetchTimeoutMs: 300 }) } });
      const t = performance.now();
      const got = await Promise.all(Array.from({ length: 5 }, () => s.getPrompt('rag-answer', { fallback: 'fb' })));
      const ms = performance.now() - t;
      expect(got.every((p) => p.isFallback && p.prompt === 'fb')).toBe(true);
      expect(server.requestCount).toBe(1);
      // The fetch timeout (300 ms) bounds the wait, with room for a loaded machine; far below a hang.
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(5000);
    } finally {
      emitWarning.mockRestore();
    }
  });

  test('a prompt Langfuse does not have (404, its error body) is served its fallback', async () => {
    const s = scope({ prompts: { langfuse: langfuse() } });
    const p = await s.getPrompt('missing', { fallback: 'x' });
    expect(p.isFallback).toBe(true);
    expect(server.promptRequests).toEqual([{ name: 'missing', version: null, label: 'production', status: 404 }]);
    const res = await fetch(`${server.url}/api/public/v2/prompts/missing`, { headers: { authorization: `Basic ${Buffer.from(`${server.publicKey}:${server.secretKey}`).toString('base64')}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: "Prompt not found: 'missing' with label production", error: 'LangfuseNotFoundError' });
  });

  test('an experiment over Langfuse versions fetches each request\'s variant', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'one', labels: ['production'] });
    server.addPrompt({ name: 'rag-answer', prompt: 'two' });
    const s = scope({ metrics: false, prompts: { langfuse: langfuse(), experiments: { 'rag-answer': { variants: { 1: 50, 2: 50 } } } } });
    const e = s.prompts.experiment('rag-answer');
    for (const user of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const ctx = s.startRequest('GET', '/', { 'x-user-id': user }, undefined);
      const p = await s.run(ctx, () => getPrompt('rag-answer'));
      expect(p.version).toBe(e?.assign(user));
      expect(p.prompt).toBe(p.version === '1' ? 'one' : 'two');
    }
    expect(new Set(server.promptRequests.map((r) => r.version))).toEqual(new Set(['1', '2']));
  });

  test('in a real request: the generation is linked to the Langfuse prompt; with Langfuse down the request still succeeds, on an unlinked fallback', async () => {
    const exportTo = await new LangfuseServer().start();
    try {
      server.addPrompt({ name: 'rag-answer', prompt: 'Answer {{question}}', labels: ['production'] });
      const s = scope({
        tracing: {},
        exporters: { langfuse: { publicKey: exportTo.publicKey, secretKey: exportTo.secretKey, baseUrl: exportTo.url } },
        prompts: { langfuse: langfuse() },
      });
      const l = await listen((req: IncomingMessage, res: ServerResponse) => {
        void s.run(startNodeRequest(s, req, res), async () => {
          const prompt: Prompt = await getPrompt(req.url === '/down' ? 'other-prompt' : 'rag-answer', { fallback: 'Answer: {{question}}' });
          const text = prompt.type === 'text' ? prompt.compile({ question: 'q' }) : '';
          await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async (call) => {
            call.setUsage({ inputTokens: 10, outputTokens: 5 });
            return text;
          });
          res.end(`${prompt.version} ${text}`);
        });
      });
      listening.push(l);
      const up = await fetch(`${l.url}/up`);
      expect(await up.text()).toBe('1 Answer q');
      // The fetch is llmscope's own traffic: no traceparent (and no CLIENT span) from the outgoing hook.
      expect(server.promptRequests.map((r) => r.traceparent)).toEqual([undefined]);
      server.mode = 'fail';
      const down = await fetch(`${l.url}/down`);
      expect(down.status).toBe(200);
      expect(await down.text()).toBe('fallback Answer: q');
      await s.shutdown();
      const generations = exportTo.spans.filter((x) => x.name === 'chat gpt-4o-mini');
      expect(generations).toHaveLength(2);
      const [linked, fallback] = [generations.find((g) => g.attributes['llmscope.prompt.version'] === '1'), generations.find((g) => g.attributes['llmscope.prompt.version'] === 'fallback')];
      expect(linked?.attributes).toMatchObject({ 'langfuse.observation.prompt.name': 'rag-answer', 'langfuse.observation.prompt.version': 1, 'langfuse.observation.type': 'generation' });
      expect(fallback?.attributes['llmscope.prompt.name']).toBe('other-prompt');
      expect(fallback?.attributes['langfuse.observation.prompt.name']).toBeUndefined();
      expect(fallback?.attributes['langfuse.observation.prompt.version']).toBeUndefined();
    } finally {
      await exportTo.close();
    }
  });

  test('keys come from the Langfuse exporter, then the environment; none is a clear start-up error', () => {
    expect(() => new Llmscope({ metrics: false, tracing: false, exporters: false, prompts: { langfuse: true } }))
      .toThrow('llmscope: Langfuse prompts need both keys: set `prompts.langfuse.publicKey` or LANGFUSE_PUBLIC_KEY (Langfuse project settings → API keys), or remove `prompts.langfuse`.');
    const s = scope({ metrics: false, exporters: { langfuse: { publicKey: 'pk-x', secretKey: 'sk-x', baseUrl: 'http://127.0.0.1:9/' } }, prompts: { langfuse: true } });
    expect(s.prompts.langfuse?.config).toMatchObject({ publicKey: 'pk-x', secretKey: 'sk-x', baseUrl: 'http://127.0.0.1:9', cacheTtlMs: 60_000, fetchTimeoutMs: 2000, maxRetries: 0 });
    expect(() => new Llmscope({ metrics: false, tracing: false, exporters: false, prompts: { langfuse: { publicKey: 'p', secretKey: 's', maxRetries: 9 } } }))
      .toThrow('option `prompts.langfuse.maxRetries` must be an integer from 0 to 5, got 9.');
    expect(() => new Llmscope({ metrics: false, tracing: false, exporters: false, prompts: { langfuse: { publicKey: 'p', secretKey: 's' }, experiments: { a: { variants: { 3: 90, v4: 10 } } } } }))
      .toThrow('option `prompts.experiments["a"].variants` names version "v4", but Langfuse versions are numbers: use them as keys, such as { 3: 90, 4: 10 }.');
  });
});
