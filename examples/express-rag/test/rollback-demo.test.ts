import { runRollbackDemo } from '../src/rollback-demo';

// `npm run demo:rollback` (docs/prompt-rollouts.md): the broken candidate is rolled back by the
// guard on the judge's relevance score, and every user gets the baseline afterwards.
test('the rollback demo: v3 (no context in its prompt) is rolled back to v1 on quality, then every user gets v1', async () => {
  const lines: string[] = [];
  const result = await runRollbackDemo({ speed: 0, print: (line) => lines.push(line) });
  expect(result.rollback).toMatchObject({ type: 'rollback', prompt: 'rag-answer', from: 'v3', to: 'v1', outcome: { rule: 'quality', score: 'relevance', status: 'fail' } });
  expect(result.before.v3).toBeGreaterThan(0);
  expect(result.after).toEqual({ v1: 20 });
  expect(lines.join('\n')).toMatch(/prompt guard: ROLLBACK rag-answer v3 -> v1: .*quality \(relevance\)/);
}, 60_000);
