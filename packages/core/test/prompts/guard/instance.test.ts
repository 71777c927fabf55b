import express from 'express';
import { llmscope, score, setPromptVersion, traceLLM, type LlmscopeMiddleware } from '@llmscope/express';
import { listen, memoryLogger, parsePrometheusText, SentryServer, type Listening } from '@llmscope/testkit';
import { PromptGuards } from '../../../src/prompts/guard/guards';
import type { GuardEvent } from '../../../src/prompts/guard/guard';
import { resolvePromptGuards } from '../../../src/prompts/guard/options';
import { MemoryTraffic } from './helpers';

/**
 * A real app: each request is assigned a version of `rag-answer` by the experiment, makes an LLM
 * call through traceLLM and is scored; v4 answers worse. The guard is attached to the real
 * instance (its onLlmCall/onScore sinks, registry, logger and Sentry client).
 */
describe('rollback guard on a real instance', () => {
  let sentry: SentryServer;
  let listening: Listening;
  let mw: LlmscopeMiddleware;
  let guards: PromptGuards;
  const log = memoryLogger();
  const traffic = new MemoryTraffic('rag-answer', { v3: 50, v4: 50 });
  let unit = 0;

  beforeAll(async () => {
    sentry = await new SentryServer().start();
    const app = express();
    mw = llmscope({ logging: { logger: log.logger, requests: false, llmCalls: false }, exporters: { sentry: { dsn: sentry.dsn } }, tracing: { printTraces: false } });
    app.use(mw);
    app.post('/answer', async (_req, res) => {
      const version = traffic.assign(unit++);
      setPromptVersion('rag-answer', version);
      const answer = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({
        choices: [{ message: { role: 'assistant', content: 'an answer' } }],
        usage: { prompt_tokens: 100, completion_tokens: 20 },
      }));
      // v3 answers well (0.8 to 0.9), v4 worse (0.5 to 0.6).
      const base = version === 'v3' ? 0.8 : 0.5;
      score({ name: 'relevance', value: base + (unit % 11) / 100, source: 'judge' });
      res.json({ version, answer: answer.choices[0]?.message.content });
    });
    listening = await listen(app);
    guards = PromptGuards.attach(mw.llmscope, resolvePromptGuards('prompts', { guards: { 'rag-answer': { minSamples: 30, consecutive: 2, evaluateEveryMs: 600_000 } } }), (p) => (p === 'rag-answer' ? traffic : undefined));
  });

  afterAll(async () => {
    guards.close();
    await mw.llmscope.shutdown();
    await listening.close();
    await sentry.close();
  });

  async function requests(n: number): Promise<string[]> {
    const versions: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${listening.url}/answer`, { method: 'POST' });
      versions.push(((await res.json()) as { version: string }).version);
    }
    return versions;
  }

  test('records from traceLLM and scores in real requests reach the windows; a 35% quality drop rolls back to v3: weights, metric, warn line, Sentry message', async () => {
    const events: GuardEvent[] = [];
    guards.on((e) => events.push(e));
    const first = await requests(60);
    expect(new Set(first)).toEqual(new Set(['v3', 'v4']));
    // 30 calls and scores each: enough to decide.
    const outcomes = guards.get('rag-answer')!.evaluate().v4!;
    expect(outcomes.find((o) => o.rule === 'quality')).toMatchObject({ status: 'fail', score: 'relevance', samples: { candidate: 30, baseline: 30 } });
    expect(outcomes.find((o) => o.rule === 'error_rate')).toMatchObject({ status: 'pass', candidate: 0, samples: { candidate: 30, baseline: 30 } });
    expect(guards.get('rag-answer')!.state).toBe('watching');
    await requests(4);
    await guards.evaluate();
    expect(guards.get('rag-answer')!.state).toBe('rolled_back');
    expect(traffic.weights()).toEqual({ v3: 100 });
    expect(events).toEqual([expect.objectContaining({ type: 'rollback', from: 'v4', to: 'v3', consecutive: 2 })]);

    // From now on every request gets the baseline.
    expect(new Set(await requests(10))).toEqual(new Set(['v3']));

    const line = log.lines.find((l) => l.event === 'prompt_rollback');
    expect(line).toMatchObject({ level: 40, msg: 'prompt rollback', prompt_name: 'rag-answer', prompt_version: 'v4', baseline_version: 'v3', rule: 'quality', score: 'relevance', samples_candidate: 32, samples_baseline: 32, consecutive: 2 });
    expect(line!.candidate_value as number).toBeLessThan(0.61);
    expect(line!.baseline_value as number).toBeGreaterThan(0.79);

    const [event] = await sentry.waitForEvents((e) => e.some((x) => x.tags?.['llmscope.source'] === 'prompt_guard'));
    expect(event?.level).toBe('warning');
    expect(event?.message).toMatch(/^llmscope: prompt rag-answer rolled back from v4 to v3: quality \(relevance\): candidate 0\.5\d* vs baseline 0\.8\d*, bound >= 0\.7\d*, p = .+, n = 32\/32 \(failed 2 evaluations in a row, alpha 0\.01\)$/);
    expect(event?.tags).toMatchObject({ 'prompt.name': 'rag-answer', 'prompt.version': 'v4', 'prompt.baseline': 'v3', 'llmscope.guard.rule': 'quality' });
    expect(event?.extra).toMatchObject({ rule: 'quality', score: 'relevance', samples_candidate: 32, samples_baseline: 32 });

    const scrape = await fetch(`${listening.url}/metrics`);
    const families = parsePrometheusText(await scrape.text());
    const sample = (name: string, labels: Record<string, string>) => families.find((f) => f.name === name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(sample('llmscope_prompt_rollbacks_total', { prompt_name: 'rag-answer', prompt_version: 'v4', rule: 'quality' })).toBe(1);
    expect(sample('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v3' })).toBe(100);
    expect(sample('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v4' })).toBe(0);
    expect(sample('llmscope_prompt_rollout_state', { prompt_name: 'rag-answer', state: 'rolled_back' })).toBe(1);
    expect(sample('llmscope_prompt_guard_checks_total', { prompt_name: 'rag-answer', rule: 'quality', status: 'fail' })).toBe(2);
  });
});
