/**
 * How often the guard rolls back, by how far the candidate is below the baseline, with repeated
 * evaluations on filling windows (the table in docs/prompt-rollouts.md). Not a test (it takes a
 * minute): `npx tsx packages/core/test/prompts/guard/false-alarms.ts`.
 */
import { PromptGuards } from '../../../src/prompts/guard/guards';
import { resolvePromptGuards } from '../../../src/prompts/guard/options';
import { MemoryTraffic, rng } from './helpers';

function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}

/** Share of `runs` rolled back: 100 scores per arm, then 50 evaluations with 10 new scores per arm between them. */
function rollbackRate(candidateMean: number, alpha: number, consecutive: number, runs: number): number {
  let fired = 0;
  for (let k = 0; k < runs; k++) {
    const traffic = new MemoryTraffic('p', { a: 50, b: 50 });
    const config = resolvePromptGuards('prompts', { guards: { p: { minSamples: 100, consecutive, alpha, errorRate: false, latency: false, cost: false, quality: { scores: ['q'] } } } });
    const guards = new PromptGuards(config, { control: () => traffic, reporter: { log() {}, message() {} } });
    const guard = guards.get('p')!;
    guard.start();
    const z = normal(rng(1 + k));
    const add = (n: number) => {
      for (let i = 0; i < n; i++) {
        guard.recordScore('a', 'q', 0.8 + 0.25 * z(), false);
        guard.recordScore('b', 'q', candidateMean + 0.25 * z(), false);
      }
    };
    add(100);
    for (let e = 0; e < 50 && guard.state === 'watching'; e++) {
      guard.evaluate();
      add(10);
    }
    if (guard.state === 'rolled_back') fired++;
    guards.close();
  }
  return fired / runs;
}

for (const alpha of [0.05, 0.01]) {
  for (const [mean, label] of [[0.72, 'at the bound (10% below)'], [0.76, '5% below'], [0.68, '15% below'], [0.64, '20% below']] as const) {
    console.log(`alpha ${alpha}, consecutive 3, candidate ${mean} (${label}): ${(100 * rollbackRate(mean, alpha, 3, 400)).toFixed(1)}% rolled back`);
  }
}
console.log(`alpha 0.05, consecutive 1, candidate 0.72: ${(100 * rollbackRate(0.72, 0.05, 1, 400)).toFixed(1)}% rolled back`);
