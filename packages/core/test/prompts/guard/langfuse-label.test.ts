import { LangfuseServer, memoryLogger } from '@llmscope/testkit';
import { Llmscope, LlmscopeConfigError, type GuardEvent, type LlmscopeOptions } from '../../../src';

// A rollback that also moves Langfuse's `production` label back to the baseline, through the real
// @langfuse/client against the testkit's Langfuse API, and a second replica that follows it.

let server: LangfuseServer;
const open: Llmscope[] = [];

beforeEach(async () => {
  server = await new LangfuseServer().start();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.shutdown()));
  await server.close();
});

function scope(options: LlmscopeOptions<never>): Llmscope {
  const s = new Llmscope({ tracing: false, exporters: false, ...options });
  open.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function langfuse(extra: Record<string, unknown> = {}): NonNullable<LlmscopeOptions<never>['prompts']>['langfuse'] {
  return { publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.url, ...extra };
}

/** A replica running the guard: version 1 the baseline, version 2 the candidate (which someone had labelled `production`). */
function guarded(extra: Record<string, unknown> = {}, options: LlmscopeOptions<never> = {}): Llmscope {
  return scope({
    ...options,
    prompts: {
      langfuse: langfuse(),
      experiments: { 'rag-answer': { variants: { 1: 50, 2: 50 } } },
      guards: { 'rag-answer': { baseline: '1', minSamples: 30, consecutive: 1, evaluateEveryMs: 600_000, langfuseLabel: true, ...extra } },
    },
  });
}

/** Feeds the guard of `s` a baseline scoring 0.8–0.9 and a candidate scoring 0.5–0.6, then evaluates: a quality rollback. */
async function rollBack(s: Llmscope): Promise<GuardEvent[]> {
  const events: GuardEvent[] = [];
  s.onPromptGuard((e) => events.push(e));
  const guard = s.promptGuards!.get('rag-answer')!;
  for (let i = 0; i < 60; i++) {
    guard.recordScore('1', 'relevance', 0.8 + (i % 11) / 100, false);
    guard.recordScore('2', 'relevance', 0.5 + (i % 11) / 100, false);
  }
  await s.promptGuards!.evaluate();
  return events;
}

describe('prompts.guards[name].langfuseLabel', () => {
  test('a rollback moves the production label to the baseline; another replica serves the baseline after its cache TTL', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'Answer {{question}} from the documents.', labels: ['reviewed'] });
    server.addPrompt({ name: 'rag-answer', prompt: 'Answer {{question}}.', labels: ['production'] });
    const a = guarded();
    // Replica B has no guard: it serves whatever Langfuse labels production, cached 300 ms.
    const b = scope({ prompts: { langfuse: langfuse({ cacheTtlSeconds: 0.3 }) } });
    expect((await b.getPrompt('rag-answer')).version).toBe('2');

    const events = await rollBack(a);
    expect(events).toEqual([expect.objectContaining({ type: 'rollback', from: '2', to: '1' })]);
    // The label call is off the guard's path: wait for it (up to 10 s: a loaded CI machine).
    for (let i = 0; i < 500 && server.labelUpdates.length === 0; i++) await sleep(20);
    // The baseline keeps its own labels.
    expect(server.labelUpdates).toEqual([{ name: 'rag-answer', version: 1, newLabels: ['reviewed', 'production'] }]);

    // B's cache is stale after its TTL: the first get serves the stale version while one refresh
    // fetches, the next ones the baseline.
    await sleep(400);
    await b.getPrompt('rag-answer');
    let version = '';
    for (let i = 0; i < 500 && version !== '1'; i++) {
      await sleep(20);
      version = (await b.getPrompt('rag-answer')).version;
    }
    expect(version).toBe('1');
    // A's own label get follows at once (its cache was dropped).
    expect((await a.getPrompt('rag-answer', { label: 'production' })).version).toBe('1');
  });

  test('Langfuse refusing or down: the rollback still happens, the failure is a warn log line, nothing throws', async () => {
    server.addPrompt({ name: 'rag-answer', prompt: 'one', labels: [] });
    server.addPrompt({ name: 'rag-answer', prompt: 'two', labels: ['production'] });
    const log = memoryLogger();
    const a = guarded({}, { logging: { logger: log.logger, requests: false, llmCalls: false } });
    server.mode = 'fail';
    const events = await rollBack(a);
    expect(events.map((e) => e.type)).toEqual(['rollback']);
    expect(a.prompts.experiment('rag-answer')!.weights()).toEqual({ 1: 100, 2: 0 });
    const failed = () => log.lines.find((l) => l.event === 'prompt_label_move_failed');
    for (let i = 0; i < 400 && failed() === undefined; i++) await sleep(25);
    expect(failed()).toMatchObject({ level: 40, prompt_name: 'rag-answer', prompt_version: '1', label: 'production' });
    expect(String(failed()?.reason)).toMatch(/could not move Langfuse label production to version 1/);
    expect(server.labelUpdates).toEqual([]);
  });

  test('langfuseLabel without Langfuse prompts, or set to "latest", is a LlmscopeConfigError', () => {
    const local = [{ name: 'rag-answer', version: 'v3', prompt: 'a' }, { name: 'rag-answer', version: 'v4', prompt: 'b' }];
    const experiments = { 'rag-answer': { variants: { v3: 90, v4: 10 } } };
    expect(() => scope({ prompts: { local, experiments, guards: { 'rag-answer': { langfuseLabel: true } } } })).toThrow(LlmscopeConfigError);
    expect(() => scope({ prompts: { local, experiments, guards: { 'rag-answer': { langfuseLabel: true } } } })).toThrow(/prompts do not come from Langfuse/);
    expect(() => scope({ prompts: { langfuse: langfuse(), experiments: { 'rag-answer': { variants: { 1: 90, 2: 10 } } }, guards: { 'rag-answer': { langfuseLabel: 'latest' } } } })).toThrow(/langfuseLabel/);
  });
});
