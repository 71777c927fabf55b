import express from 'express';
import { getPrompt, llmscope, LlmscopeConfigError, runShadow, score, setUser, traceLLM, type LlmCallRecord, type LlmscopeMiddleware, type Prompt } from '@llmscope/express';
import { find, listen, OtlpReceiver, parseMetrics, type Listening } from '@llmscope/testkit';

/**
 * Shadow runs on the user's road: an Express app whose handler answers with the production
 * version and hands the same pipeline to runShadow() for the candidate. The shadow's LLM call
 * sleeps (500 ms by default) to show that the request does not wait for it.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('prompts.shadow and runShadow()', () => {
  let listening: Listening;
  let mw: LlmscopeMiddleware;
  let receiver: OtlpReceiver;
  const records: LlmCallRecord[] = [];
  /** Shadow pipelines running now, and the most seen at once. */
  let inShadow = 0;
  let maxInShadow = 0;
  let shadowStarts = 0;

  /** The app's pipeline: one LLM call with the prompt; `ms` its duration. */
  async function answerWith(prompt: Prompt, question: string, ms: number): Promise<string> {
    return traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
      await sleep(ms);
      return { usage: { prompt_tokens: 100, completion_tokens: 20 }, text: `${prompt.version}: ${question}` };
    }).then(() => `${prompt.version} answered ${question}`);
  }

  beforeAll(async () => {
    receiver = await new OtlpReceiver().start();
    const app = express();
    mw = llmscope({
      tracing: { printTraces: false },
      exporters: { otlp: { url: receiver.tracesUrl } },
      prompts: {
        local: [
          { name: 'rag-answer', version: 'v3', prompt: 'Answer {{question}} from the documents.', labels: ['production'] },
          { name: 'rag-answer', version: 'v4', prompt: 'Answer {{question}}.' },
        ],
        // The guard watches the experiment's arms: shadow calls of v4 must never land in them.
        experiments: { 'rag-answer': { variants: { v3: 100, v4: 0 } } },
        guards: { 'rag-answer': { baseline: 'v3', evaluateEveryMs: 600_000 } },
        shadow: { 'rag-answer': { version: 'v4', sample: 1, maxConcurrent: 2 } },
      },
    });
    mw.llmscope.onLlmCall((r) => records.push(r));
    app.use(mw);
    app.post('/answer', async (req, res) => {
      setUser('user-1');
      const prompt = await getPrompt('rag-answer');
      const answer = await answerWith(prompt, 'why', 10);
      if (req.query.shadow !== undefined) {
        const ms = Number(req.query.shadow) || 500;
        runShadow('rag-answer', async (candidate) => {
          shadowStarts++;
          maxInShadow = Math.max(maxInShadow, ++inShadow);
          try {
            await answerWith(candidate, 'why', ms);
            // A score of the shadow's answer (as an evaluator would give): the guard must not see it.
            score({ name: 'relevance', value: 0.1, source: 'judge' });
            return 'SHADOW-OUTPUT';
          } finally {
            inShadow--;
          }
        });
      }
      res.json({ version: prompt.version, answer });
    });
    listening = await listen(app);
  });

  afterAll(async () => {
    await mw.llmscope.shutdown();
    await listening.close();
    await receiver.close();
  });

  async function post(path: string): Promise<{ ms: number; body: { version: string; answer: string } }> {
    const start = performance.now();
    const res = await fetch(`${listening.url}${path}`, { method: 'POST' });
    const body = (await res.json()) as { version: string; answer: string };
    return { ms: performance.now() - start, body };
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const samples = parseMetrics(await mw.llmscope.registry!.metrics());
    return find(samples, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
  }

  test('the shadow output is never returned and the request does not wait for it (same route with and without a shadow)', async () => {
    const plain: number[] = [];
    const shadowed: number[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await post('/answer');
      plain.push(p.ms);
      expect(p.body).toEqual({ version: 'v3', answer: 'v3 answered why' });
      const s = await post('/answer?shadow=1500');
      shadowed.push(s.ms);
      // The candidate's answer (and the shadow's return value) never reach the response.
      expect(s.body).toEqual({ version: 'v3', answer: 'v3 answered why' });
      await mw.llmscope.prompts.shadows.settled();
    }
    // A request that waited for its shadow would take 1500 ms more; half of that is the bound, room
    // for a loaded 2-core CI machine, where two medians of 4 requests can differ by 250 ms without a bug.
    expect(median(shadowed)).toBeLessThan(median(plain) + 750);
    expect(shadowStarts).toBe(4);
    const shadowCalls = records.filter((r) => r.shadow === true);
    expect(shadowCalls).toHaveLength(4);
    expect(shadowCalls.every((r) => r.promptName === 'rag-answer' && r.promptVersion === 'v4' && r.feature === 'llmscope.shadow' && r.userId === 'user-1' && r.seconds >= 0.45)).toBe(true);
    expect(records.filter((r) => r.shadow !== true).every((r) => r.promptVersion === 'v3' && r.feature === undefined)).toBe(true);
    process.stdout.write(`shadow latency: median ${median(plain).toFixed(1)} ms without, ${median(shadowed).toFixed(1)} ms with a 500 ms shadow\n`);
  });

  test('shadow spans reach the OTLP receiver with llmscope.shadow=true, in a trace of their own', async () => {
    const spans = await receiver.waitForSpans((all) => all.filter((s) => s.attributes['llmscope.shadow'] === true && s.name.startsWith('chat')).length >= 4, 15_000);
    const roots = spans.filter((s) => s.name === 'shadow rag-answer v4');
    expect(roots.length).toBeGreaterThanOrEqual(4);
    const root = roots[0]!;
    expect(root.attributes).toMatchObject({ 'llmscope.shadow': true, 'llmscope.feature': 'llmscope.shadow', 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': 'v4' });
    expect(root.parentSpanId).toBe('');
    const call = spans.find((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId);
    expect(call?.attributes).toMatchObject({ 'llmscope.shadow': true, 'llmscope.prompt.version': 'v4', 'llmscope.feature': 'llmscope.shadow' });
    // The request's own LLM calls carry no shadow attribute.
    const requestCalls = spans.filter((s) => s.name.startsWith('chat') && s.attributes['llmscope.prompt.version'] === 'v3');
    expect(requestCalls.length).toBeGreaterThanOrEqual(4);
    expect(requestCalls.every((s) => s.attributes['llmscope.shadow'] === undefined)).toBe(true);
  });

  test('metrics show the shadow calls apart (feature="llmscope.shadow"), the runs by result; the guard never counts them', async () => {
    expect(await metric('llmscope_llm_cost_usd_total', { feature: 'llmscope.shadow', prompt_version: 'v4' })).toBeGreaterThan(0);
    expect(await metric('llmscope_llm_cost_usd_total', { prompt_version: 'v4', feature: 'none' })).toBe(0);
    expect(await metric('llmscope_prompt_shadow_runs_total', { prompt_name: 'rag-answer', prompt_version: 'v4', result: 'ok' })).toBe(4);
    // The guard's windows: v3 has the requests' calls, v4 none (its only calls were shadow calls).
    const guard = mw.llmscope.promptGuards!.get('rag-answer')!;
    const snapshot = (v: string) => (guard as unknown as { snapshot(version: string, now: number): { calls: number; scores: Map<string, unknown> } }).snapshot(v, Date.now());
    expect(snapshot('v3').calls).toBeGreaterThanOrEqual(8);
    expect(snapshot('v4').calls).toBe(0);
    expect(snapshot('v4').scores.size).toBe(0);
    // The scores were given, under the shadow's feature and version.
    expect(await metric('llmscope_quality_score_count', { name: 'relevance', prompt_version: 'v4', feature: 'llmscope.shadow' })).toBe(4);
  });

  test('over maxConcurrent, runs are dropped and counted; never more than 2 at once', async () => {
    const before = shadowStarts;
    for (let i = 0; i < 6; i++) await post('/answer?shadow=2000');
    expect(mw.llmscope.prompts.shadows.running('rag-answer')).toBeLessThanOrEqual(2);
    await mw.llmscope.prompts.shadows.settled();
    const started = shadowStarts - before;
    expect(maxInShadow).toBeLessThanOrEqual(2);
    expect(started).toBeGreaterThanOrEqual(2);
    expect(started).toBeLessThan(6);
    expect(await metric('llmscope_prompt_shadow_runs_total', { prompt_name: 'rag-answer', result: 'dropped' })).toBe(6 - started);
  });
});

describe('prompts.shadow checked at start-up', () => {
  const local = [{ name: 'rag-answer', version: 'v3', prompt: 'a' }, { name: 'rag-answer', version: 'v4', prompt: 'b' }];
  test('a version the prompt does not have, a bad sample or an unknown key is a LlmscopeConfigError', () => {
    expect(() => llmscope({ tracing: false, prompts: { local, shadow: { 'rag-answer': { version: 'v9' } } } })).toThrow(LlmscopeConfigError);
    expect(() => llmscope({ tracing: false, prompts: { local, shadow: { 'rag-answer': { version: 'v9' } } } })).toThrow(/"v9", which prompt "rag-answer" does not have \(it has v3, v4\)/);
    expect(() => llmscope({ tracing: false, prompts: { local, shadow: { 'rag-answer': { version: 'v4', sample: 2 } } } })).toThrow(/sample/);
    expect(() => llmscope({ tracing: false, prompts: { local, shadow: { 'rag-answer': { version: 'v4', maxConcurent: 2 } as never } } })).toThrow(/maxConcurrent/);
    expect(() => llmscope({ tracing: false, prompts: { local, shadow: { 'rag-answer': {} as never } } })).toThrow(/version/);
  });

  test('runShadow without an instance, or for a prompt without a shadow, does nothing and never throws', () => {
    expect(runShadow('nothing', () => 'x')).toBeUndefined();
  });
});
