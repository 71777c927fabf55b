import type { AddressInfo } from 'node:net';
import type { GuardEvent, PromptDefinition } from '@llmscope/express';
import { createApp } from './app';
import { PROMPT, RAG_PROMPTS } from '../../shared/src';
import { SAMPLE_QUESTIONS } from '../../shared/src/documents';

/**
 * A candidate made deliberately worse: v3 leaves the retrieved context out of its prompt, so the
 * (simulated) model can only answer that the context does not cover the question, and the
 * relevance judge grades it 0.1 where v1 gets 0.7 to 1.
 */
export const BROKEN_CANDIDATE: PromptDefinition = {
  name: PROMPT.name, version: 'v3', config: { ...(RAG_PROMPTS[0]?.config ?? {}) },
  prompt: [
    { role: 'system', content: 'You are the {{product}} help assistant. Answer in one sentence.' },
    { role: 'user', content: 'Question: {{question}}' },
  ],
};

/** Options of {@link runRollbackDemo}. */
export interface RollbackDemoOptions {
  /** Speed factor of the simulated LLM. Default 20 (the demo takes a few seconds). */
  speed?: number;
  /** Requests sent at most before giving up. Default 600. */
  maxRequests?: number;
  /** Where the demo's lines go. Default: stdout. */
  print?: (line: string) => void;
}

/** What the demo saw: the rollback (if any), the requests it took, and the versions served after it. */
export interface RollbackDemoResult {
  rollback: Extract<GuardEvent, { type: 'rollback' }> | undefined;
  requests: number;
  before: Record<string, number>;
  after: Record<string, number>;
}

/**
 * The example app with v1 (baseline) and the broken v3 in a 50/50 experiment, guarded by
 * llmscope's rollback guard on the judge's `relevance` score: sends questions as different users
 * until the guard rolls v3 back, prints the guard's line, then shows every user on v1.
 */
export async function runRollbackDemo(options: RollbackDemoOptions = {}): Promise<RollbackDemoResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const app = createApp({
    speed: options.speed ?? 20,
    judgeSampleRate: 1,
    llmscope: {
      tracing: { printTraces: false },
      prompts: {
        local: [...RAG_PROMPTS, BROKEN_CANDIDATE],
        experiments: { [PROMPT.name]: { variants: { v1: 50, v3: 50 } } },
        // Small numbers so that the demo decides in seconds; production keeps the defaults (docs/prompt-rollouts.md).
        guards: { [PROMPT.name]: { baseline: 'v1', minSamples: 20, consecutive: 2, evaluateEveryMs: 500, quality: { scores: ['relevance'] } } },
      },
    },
  });
  let rollback: RollbackDemoResult['rollback'];
  app.llmscope.onPromptGuard((event) => {
    if (event.type !== 'rollback') return;
    rollback = event;
    print(`\nprompt guard: ROLLBACK ${event.prompt} ${event.from} -> ${event.to}: ${event.reason}\n`);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tally = (into: Record<string, number>, version: string) => { into[version] = (into[version] ?? 0) + 1; };
  const ask = async (i: number): Promise<void> => {
    const res = await fetch(`${url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': `user-${i}` },
      body: JSON.stringify({ question: SAMPLE_QUESTIONS[i % SAMPLE_QUESTIONS.length] }),
    });
    await res.json();
  };
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  let requests = 0;
  try {
    print(`rag-answer: v1 (baseline) and v3 (broken: no context in its prompt), 50/50; guard on the relevance score\nsending questions as user-0, user-1, ... to ${url}`);
    const versions = new Map<string, string>();
    const off = app.llmscope.onLlmCall((r) => { if (r.userId !== undefined && r.promptVersion !== undefined && r.feature === 'chat') versions.set(r.userId, r.promptVersion); });
    const maxRequests = options.maxRequests ?? 600;
    while (rollback === undefined && requests < maxRequests) {
      await ask(requests);
      const v = versions.get(`user-${requests}`);
      if (v !== undefined) tally(before, v);
      requests++;
      if (requests % 20 === 0) {
        print(`  ${requests} requests: ${Object.entries(before).map(([k, n]) => `${k} ${n}`).join(', ')}`);
        // Let the judge and the guard's timer keep up with the traffic.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (rollback !== undefined) {
      for (let i = 0; i < 20; i++) {
        await ask(requests + i);
        const v = versions.get(`user-${requests + i}`);
        if (v !== undefined) tally(after, v);
      }
      print(`after the rollback, 20 more users: ${Object.entries(after).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    } else {
      print(`no rollback after ${requests} requests`);
    }
    off();
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.llmscope.shutdown();
  }
  return { rollback, requests, before, after };
}
