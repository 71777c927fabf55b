import express from 'express';
import { getPrompt, llmscope, LlmscopeConfigError, score, setUser, traceLLM, type GuardEvent, type LlmscopeMiddleware } from '@llmscope/express';
import { listen, type Listening } from '@llmscope/testkit';

/**
 * The user's road: guards declared in `prompts.guards` next to the experiment they guard, with
 * prompts from the registry. The instance builds them, feeds them its records and scores, and a
 * rollback moves the registry's own experiment, so `getPrompt()` serves the baseline afterwards.
 */
describe('prompts.guards through the options', () => {
  let listening: Listening;
  let mw: LlmscopeMiddleware;
  let unit = 0;

  beforeAll(async () => {
    const app = express();
    mw = llmscope({
      tracing: { printTraces: false },
      prompts: {
        local: [
          { name: 'rag-answer', version: 'v3', prompt: 'Answer {{question}} from the documents.', labels: ['production'] },
          { name: 'rag-answer', version: 'v4', prompt: 'Answer {{question}}.' },
        ],
        experiments: { 'rag-answer': { variants: { v3: 50, v4: 50 } } },
        guards: { 'rag-answer': { minSamples: 30, consecutive: 2, evaluateEveryMs: 600_000 } },
      },
    });
    app.use(mw);
    app.post('/answer', async (_req, res) => {
      setUser(`user-${unit++}`);
      const prompt = await getPrompt('rag-answer');
      await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({ usage: { prompt_tokens: 100, completion_tokens: 20 } }));
      // v3 answers well (0.8 to 0.9), v4 worse (0.5 to 0.6).
      score({ name: 'relevance', value: (prompt.version === 'v3' ? 0.8 : 0.5) + (unit % 11) / 100, source: 'judge' });
      res.json({ version: prompt.version });
    });
    listening = await listen(app);
  });

  afterAll(async () => {
    await mw.llmscope.shutdown();
    await listening.close();
  });

  async function versions(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${listening.url}/answer`, { method: 'POST' });
      out.push(((await res.json()) as { version: string }).version);
    }
    return out;
  }

  test('the guard rolls the experiment back; getPrompt() then serves the baseline; onPromptGuard and promptGuardStatus say so', async () => {
    const events: GuardEvent[] = [];
    mw.llmscope.onPromptGuard((e) => events.push(e));
    expect(mw.llmscope.promptGuardStatus('rag-answer')).toMatchObject({ state: 'watching' });
    expect(mw.llmscope.promptGuardStatus('other')).toBeUndefined();
    const before = await versions(80);
    expect(new Set(before)).toEqual(new Set(['v3', 'v4']));
    const guards = mw.llmscope.promptGuards!;
    // Two evaluations in a row, each with new candidate samples (consecutive: 2).
    await guards.evaluate();
    await versions(20);
    await guards.evaluate();
    expect(events).toEqual([expect.objectContaining({ type: 'rollback', from: 'v4', to: 'v3' })]);
    expect(mw.llmscope.prompts.experiment('rag-answer')!.weights()).toEqual({ v3: 100, v4: 0 });
    expect(mw.llmscope.promptGuardStatus('rag-answer')).toMatchObject({ state: 'rolled_back' });
    expect(new Set(await versions(20))).toEqual(new Set(['v3']));
  });
});

describe('prompts.guards checked at start-up', () => {
  test('a guard on a prompt with no experiment, or an unknown baseline, is a LlmscopeConfigError', () => {
    const local = [{ name: 'rag-answer', version: 'v3', prompt: 'a' }, { name: 'rag-answer', version: 'v4', prompt: 'b' }];
    expect(() => llmscope({ tracing: false, prompts: { local, guards: { 'rag-answer': {} } } })).toThrow(LlmscopeConfigError);
    expect(() => llmscope({ tracing: false, prompts: { local, guards: { 'rag-answer': {} } } })).toThrow(/has no experiment/);
    expect(() => llmscope({ tracing: false, prompts: { local, experiments: { 'rag-answer': { variants: { v3: 90, v4: 10 } } }, guards: { 'rag-answer': { baseline: 'v9' } } } })).toThrow(/not a version of the experiment/);
    expect(() => llmscope({ tracing: false, prompts: { local, experiments: { 'rag-answer': { variants: { v3: 90, v4: 10 } } }, guards: { 'rag-answer': { minSampls: 3 } as never } } })).toThrow(/minSamples/);
  });
});
