import { Registry } from 'prom-client';
import { PromptGuards } from '../../../src/prompts/guard/guards';
import type { GuardEvent, PromptGuard } from '../../../src/prompts/guard/guard';
import { resolvePromptGuards, type PromptGuardsOptions } from '../../../src/prompts/guard/options';
import { Clock, MemoryTraffic, RecordingReporter, rng, scores } from './helpers';

interface Arm {
  /** Mean and standard deviation of the `relevance` score. */
  quality?: [number, number];
  /** Boolean `grounded` pass rate. */
  passRate?: number;
  /** Call durations, uniform in [lo, hi] seconds. */
  seconds?: [number, number];
  /** One failed call in `errorEvery`. */
  errorEvery?: number;
  cost?: number;
}

function setup(options: PromptGuardsOptions, weights: Record<string, number> = { v3: 90, v4: 10 }) {
  const clock = new Clock();
  const traffic = new MemoryTraffic('rag-answer', weights);
  const registry = new Registry();
  const reporter = new RecordingReporter();
  const guards = new PromptGuards(resolvePromptGuards('prompts', options), { control: (p) => (p === 'rag-answer' ? traffic : undefined), registry, reporter, now: clock.now });
  guards.start();
  const guard = guards.get('rag-answer') as PromptGuard;
  const events: GuardEvent[] = [];
  guard.on((e) => events.push(e));
  const random = rng(7);
  const counters = new Map<string, number>();
  /** `n` calls (and their scores) of `version`. */
  function feed(version: string, n: number, arm: Arm): void {
    const q = arm.quality === undefined ? undefined : scores(random, arm.quality[0], arm.quality[1]);
    for (let i = 0; i < n; i++) {
      const k = (counters.get(version) ?? 0) + 1;
      counters.set(version, k);
      const [lo, hi] = arm.seconds ?? [0.8, 1.2];
      const failed = arm.errorEvery !== undefined && k % arm.errorEvery === 0;
      guard.recordCall(version, lo + (hi - lo) * random(), failed, failed ? undefined : (arm.cost ?? 0.002) * (0.9 + 0.2 * random()));
      if (q !== undefined) guard.recordScore(version, 'relevance', q(), false);
      if (arm.passRate !== undefined) guard.recordScore(version, 'grounded', random() < arm.passRate ? 1 : 0, true);
    }
  }
  const metric = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const m = await registry.getSingleMetric(name)?.get();
    return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  };
  return { clock, traffic, registry, reporter, guards, guard, events, feed, metric, close: () => guards.close() };
}

const HEALTHY: Arm = { quality: [0.8, 0.15], seconds: [0.8, 1.2], errorEvery: 50, cost: 0.002 };

describe('rollback guard', () => {
  test('a >10% quality drop with enough samples rolls back after 3 failing evaluations with new samples; event, metric, warn line and Sentry message carry the numbers', async () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100 } } });
    t.feed('v3', 400, HEALTHY);
    t.feed('v4', 120, { ...HEALTHY, quality: [0.6, 0.15] });
    const first = t.guard.evaluate().v4!;
    expect(first.find((o) => o.rule === 'quality')).toMatchObject({ status: 'fail', score: 'relevance', samples: { candidate: 120, baseline: 400 } });
    expect(first.find((o) => o.rule === 'quality')!.pValue).toBeLessThan(1e-6);
    // The same samples again are not a second failure.
    t.guard.evaluate();
    t.guard.evaluate();
    expect(t.guard.state).toBe('watching');
    t.feed('v4', 10, { ...HEALTHY, quality: [0.6, 0.15] });
    t.guard.evaluate();
    expect(t.guard.state).toBe('watching');
    t.feed('v4', 10, { ...HEALTHY, quality: [0.6, 0.15] });
    t.guard.evaluate();
    expect(t.guard.state).toBe('rolled_back');
    expect(t.traffic.weights()).toEqual({ v3: 100 });
    expect(t.traffic.changes).toHaveLength(1);
    expect(t.traffic.changes[0]!.reason).toMatch(/^prompt rag-answer rolled back from v4 to v3: quality \(relevance\): candidate 0\.\d+ vs baseline 0\.\d+, bound >= 0\.\d+, p = .+, n = 140\/400 \(failed 3 evaluations in a row, alpha 0\.01\)$/);

    const rollback = t.events.find((e) => e.type === 'rollback');
    expect(rollback).toMatchObject({ type: 'rollback', prompt: 'rag-answer', from: 'v4', to: 'v3', consecutive: 3, weights: { v3: 100 }, outcome: { rule: 'quality', score: 'relevance', status: 'fail' } });
    const outcome = rollback?.type === 'rollback' ? rollback.outcome : undefined;
    expect(outcome!.candidate).toBeLessThan(0.65);
    expect(outcome!.baseline).toBeGreaterThan(0.75);
    expect(outcome!.bound).toBeCloseTo(0.9 * outcome!.baseline, 12);

    const warn = t.reporter.lines.find((l) => l.level === 'warn');
    expect(warn).toMatchObject({ message: 'prompt rollback', fields: { event: 'prompt_rollback', prompt_name: 'rag-answer', prompt_version: 'v4', baseline_version: 'v3', rule: 'quality', score: 'relevance', samples_candidate: 140, samples_baseline: 400, consecutive: 3, alpha: 0.01 } });
    expect(warn!.fields.p_value).toBe(outcome!.pValue);
    expect(t.reporter.messages).toHaveLength(1);
    expect(t.reporter.messages[0]).toMatchObject({ tags: { 'llmscope.source': 'prompt_guard', 'prompt.name': 'rag-answer', 'prompt.version': 'v4', 'prompt.baseline': 'v3', 'llmscope.guard.rule': 'quality' }, extra: { rule: 'quality', samples_candidate: 140 } });
    expect(t.reporter.messages[0]!.text).toBe(`llmscope: ${t.traffic.changes[0]!.reason}`);

    expect(await t.metric('llmscope_prompt_rollbacks_total', { prompt_name: 'rag-answer', prompt_version: 'v4', rule: 'quality' })).toBe(1);
    expect(await t.metric('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v3' })).toBe(100);
    expect(await t.metric('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v4' })).toBe(0);
    expect(await t.metric('llmscope_prompt_rollout_state', { prompt_name: 'rag-answer', state: 'rolled_back' })).toBe(1);
    expect(await t.metric('llmscope_prompt_rollout_state', { prompt_name: 'rag-answer', state: 'watching' })).toBe(0);
    // Once rolled back, the guard is done: more bad data changes nothing.
    t.feed('v4', 50, { ...HEALTHY, quality: [0.1, 0.1] });
    t.guard.evaluate();
    expect(t.traffic.changes).toHaveLength(1);
    t.close();
  });

  test('no rollback on noise below the minimum sample, however bad it looks', () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100 } } });
    t.feed('v3', 400, HEALTHY);
    for (let i = 0; i < 9; i++) {
      t.feed('v4', 10, { ...HEALTHY, quality: [0.2, 0.1], errorEvery: 2, seconds: [5, 9] });
      const outcomes = t.guard.evaluate().v4!;
      expect(outcomes.map((o) => o.status)).toEqual(['insufficient', 'insufficient', 'insufficient', 'insufficient']);
    }
    expect(t.guard.state).toBe('watching');
    expect(t.traffic.changes).toEqual([]);
    expect(t.reporter.lines).toEqual([]);
    t.close();
  });

  test('no rollback on a drop within the threshold (5% below the baseline, many samples), nor on a breach that is not beyond noise', () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100 } } });
    t.feed('v3', 1000, HEALTHY);
    for (let i = 0; i < 6; i++) {
      t.feed('v4', 100, { ...HEALTHY, quality: [0.76, 0.15] });
      expect(t.guard.evaluate().v4!.find((o) => o.rule === 'quality')!.status).toBe('pass');
    }
    expect(t.traffic.changes).toEqual([]);

    // Just past the bound (0.9 × 0.8 = 0.72) with a wide spread: a breach, not a failure.
    const u = setup({ guards: { 'rag-answer': { minSamples: 100, quality: { scores: ['relevance'] } } } });
    for (let i = 0; i < 400; i++) u.guard.recordScore('v3', 'relevance', i % 2 === 0 ? 0.75 : 0.85, false);
    // Mean 0.705, standard deviation 0.3: p ≈ 0.3 against the bound 0.72.
    for (let i = 0; i < 100; i++) u.guard.recordScore('v4', 'relevance', i % 2 === 0 ? 0.41 : 1, false);
    const q = u.guard.evaluate().v4!.find((o) => o.rule === 'quality')!;
    expect(q.candidate).toBeLessThan(q.bound);
    expect(q).toMatchObject({ status: 'breach' });
    expect(q.pValue).toBeGreaterThan(0.05);
    for (let i = 0; i < 5; i++) {
      u.guard.recordScore('v4', 'relevance', 0.705, false);
      u.guard.evaluate();
    }
    expect(u.traffic.changes).toEqual([]);
    t.close();
    u.close();
  });

  test('boolean scores: a pass rate falling from 0.9 to 0.6 rolls back (two-proportion z)', () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 150, consecutive: 2, quality: { scores: ['grounded'] } } } });
    t.feed('v3', 600, { ...HEALTHY, passRate: 0.9 });
    t.feed('v4', 150, { ...HEALTHY, passRate: 0.6 });
    t.guard.evaluate();
    t.feed('v4', 5, { ...HEALTHY, passRate: 0.6 });
    t.guard.evaluate();
    const rollback = t.events.find((e) => e.type === 'rollback');
    expect(rollback).toMatchObject({ from: 'v4', to: 'v3', consecutive: 2, outcome: { rule: 'quality', score: 'grounded', status: 'fail', samples: { candidate: 155, baseline: 600 } } });
    expect(t.traffic.weights()).toEqual({ v3: 100 });
    t.close();
  });

  test('error rate: 2% → 25% rolls back; an absolute ceiling is tested exactly (binomial)', async () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100, consecutive: 1 } } });
    t.feed('v3', 500, HEALTHY);
    t.feed('v4', 100, { ...HEALTHY, errorEvery: 4 });
    t.guard.evaluate();
    const rollback = t.events.find((e) => e.type === 'rollback');
    expect(rollback).toMatchObject({ outcome: { rule: 'error_rate', status: 'fail', candidate: 0.25, baseline: 0.02, samples: { candidate: 100, baseline: 500 } } });
    const outcome = rollback?.type === 'rollback' ? rollback.outcome : undefined;
    expect(outcome!.bound).toBeCloseTo(0.07, 12);
    expect(await t.metric('llmscope_prompt_rollbacks_total', { prompt_name: 'rag-answer', prompt_version: 'v4', rule: 'error_rate' })).toBe(1);

    // Baseline as bad as the candidate: the relative bound passes, the absolute ceiling (5%) does not.
    const u = setup({ guards: { 'rag-answer': { minSamples: 100, consecutive: 1, alpha: 0.05, errorRate: { max: 0.05 } } } });
    u.feed('v3', 500, { ...HEALTHY, errorEvery: 10 });
    u.feed('v4', 100, { ...HEALTHY, errorEvery: 10 });
    const e = u.guard.evaluate().v4!.find((o) => o.rule === 'error_rate')!;
    // scipy.stats.binom.sf(9, 100, 0.05) = 0.02818829416341614
    expect(e).toMatchObject({ status: 'fail', candidate: 0.1, bound: 0.05 });
    expect(e.pValue).toBeCloseTo(0.02818829416341614, 12);
    expect(u.guard.state).toBe('rolled_back');
    t.close();
    u.close();
  });

  test('latency: a candidate p95 over 1.5 × the baseline p95 rolls back; one within it does not', () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100, consecutive: 1 } } });
    t.feed('v3', 500, { ...HEALTHY, seconds: [0.5, 1.5] });
    t.feed('v4', 110, { ...HEALTHY, seconds: [0.5, 1.6] });
    expect(t.guard.evaluate().v4!.find((o) => o.rule === 'latency_p95')!.status).toBe('pass');
    t.feed('v4', 200, { ...HEALTHY, seconds: [2, 4] });
    t.guard.evaluate();
    const rollback = t.events.find((e) => e.type === 'rollback');
    expect(rollback).toMatchObject({ outcome: { rule: 'latency_p95', status: 'fail' } });
    const o = rollback?.type === 'rollback' ? rollback.outcome : undefined;
    expect(o!.baseline).toBeGreaterThan(1.4);
    expect(o!.baseline).toBeLessThanOrEqual(1.5);
    expect(o!.bound).toBeCloseTo(1.5 * o!.baseline, 12);
    expect(o!.candidate).toBeGreaterThan(3.5);
    expect(t.reporter.lines.find((l) => l.level === 'warn')!.fields.reason).toMatch(/latency_p95: candidate \d\.\d+ s vs baseline 1\.\d+ s, bound <= 2\.\d+ s/);

    const u = setup({ guards: { 'rag-answer': { minSamples: 100, consecutive: 1, latency: { maxP95Ms: 1000 } } } });
    u.feed('v3', 500, { ...HEALTHY, seconds: [0.5, 1.5] });
    u.feed('v4', 110, { ...HEALTHY, seconds: [0.5, 1.5] });
    const l = u.guard.evaluate().v4!.find((x) => x.rule === 'latency_p95')!;
    expect(l).toMatchObject({ status: 'fail', bound: 1 });
    t.close();
    u.close();
  });

  test('cost: 2× the baseline holds a rollout but does not roll back; with cost.rollback it does', () => {
    const t = setup({ rollouts: { 'rag-answer': { candidate: 'v4', minSamples: 100, consecutive: 1, minDwellMs: 0 } } }, { v3: 100 });
    t.feed('v3', 500, HEALTHY);
    t.feed('v4', 200, { ...HEALTHY, cost: 0.004 });
    t.guard.evaluate();
    t.feed('v4', 10, { ...HEALTHY, cost: 0.004 });
    t.guard.evaluate();
    expect(t.guard.state).toBe('holding');
    expect(t.traffic.weights()).toEqual({ v3: 95, v4: 5 });
    expect(t.events.map((e) => e.type)).toEqual(['hold']);
    expect(t.reporter.lines.map((l) => l.fields.event)).toEqual(['prompt_rollout_hold']);

    const u = setup({ guards: { 'rag-answer': { minSamples: 100, consecutive: 1, cost: { rollback: true } } } });
    u.feed('v3', 500, HEALTHY);
    u.feed('v4', 200, { ...HEALTHY, cost: 0.004 });
    u.guard.evaluate();
    expect(u.events.find((e) => e.type === 'rollback')).toMatchObject({ outcome: { rule: 'cost', status: 'fail', bound: expect.closeTo(0.0025, 4) } });
    t.close();
    u.close();
  });

  test('a guard without a baseline option takes the version with the largest weight; every weighted candidate is watched', () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100 } } }, { v2: 10, v3: 80, v4: 10 });
    expect(t.guard.status()).toMatchObject({ baseline: 'v3', candidates: ['v2', 'v4'], state: 'watching', step: undefined });
    t.close();
  });

  test('windows are bounded by count and by age', () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 10, windowSize: 50, windowMs: 60_000 } } });
    t.feed('v3', 500, HEALTHY);
    t.feed('v4', 30, HEALTHY);
    let q = t.guard.evaluate().v4!.find((o) => o.rule === 'quality')!;
    expect(q.samples).toEqual({ candidate: 30, baseline: 50 });
    t.clock.advance(30_000);
    t.feed('v4', 5, HEALTHY);
    t.clock.advance(31_000);
    q = t.guard.evaluate().v4!.find((o) => o.rule === 'quality')!;
    // Only the 5 scores of 31 s ago are left; the baseline's are all older than a minute.
    expect(q.samples).toEqual({ candidate: 5, baseline: 0 });
    expect(q.status).toBe('insufficient');
    t.close();
  });
});

describe('gradual rollout', () => {
  test('advances 5% → 25% → 50% → 100% only after the dwell time and while every rule passes; state and weights in metrics and log', async () => {
    const t = setup({ rollouts: { 'rag-answer': { candidate: 'v4', minSamples: 50, minDwellMs: 60_000 } } }, { v3: 100 });
    expect(t.traffic.weights()).toEqual({ v3: 95, v4: 5 });
    expect(await t.metric('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v4' })).toBe(5);
    expect(await t.metric('llmscope_prompt_rollout_state', { prompt_name: 'rag-answer', state: 'rolling_out' })).toBe(1);

    // Too few samples: waits even past the dwell time.
    t.clock.advance(61_000);
    t.feed('v3', 200, HEALTHY);
    t.feed('v4', 20, HEALTHY);
    t.guard.evaluate();
    expect(t.traffic.weights()).toEqual({ v3: 95, v4: 5 });

    t.feed('v4', 40, HEALTHY);
    t.guard.evaluate();
    expect(t.traffic.weights()).toEqual({ v3: 75, v4: 25 });
    expect(t.guard.status().step).toBe(1);

    // Every rule passes, but the step is new: it stays a minute.
    t.clock.advance(30_000);
    t.feed('v4', 60, HEALTHY);
    t.guard.evaluate();
    expect(t.traffic.weights()).toEqual({ v3: 75, v4: 25 });
    t.clock.advance(31_000);
    t.guard.evaluate();
    expect(t.traffic.weights()).toEqual({ v3: 50, v4: 50 });
    expect(await t.metric('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v4' })).toBe(50);

    t.clock.advance(61_000);
    t.feed('v3', 60, HEALTHY);
    t.feed('v4', 60, HEALTHY);
    t.guard.evaluate();
    expect(t.traffic.weights()).toEqual({ v4: 100 });
    expect(t.guard.state).toBe('completed');
    expect(t.guard.baseline).toBe('v4');
    expect(t.traffic.changes.map((c) => c.weights)).toEqual([{ v3: 95, v4: 5 }, { v3: 75, v4: 25 }, { v3: 50, v4: 50 }, { v4: 100 }]);
    expect(t.events.map((e) => e.type === 'advance' ? `advance ${e.weight}` : e.type)).toEqual(['advance 25', 'advance 50', 'complete']);
    expect(t.reporter.lines.map((l) => [l.level, l.fields.event, l.fields.weight])).toEqual([
      ['info', 'prompt_rollout_step', 25], ['info', 'prompt_rollout_step', 50], ['info', 'prompt_rollout_complete', 100],
    ]);
    expect(t.reporter.lines[0]!.fields.reason).toMatch(/^rollout of rag-answer v4 advances to 25% \(step 2 of 4\): quality \(relevance\): candidate .*; error_rate: .*; latency_p95: .*; cost: /);
    expect(await t.metric('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v3' })).toBe(0);
    expect(await t.metric('llmscope_prompt_rollout_weight', { prompt_name: 'rag-answer', prompt_version: 'v4' })).toBe(100);
    expect(await t.metric('llmscope_prompt_rollout_state', { prompt_name: 'rag-answer', state: 'completed' })).toBe(1);
    t.close();
  });

  test('halts while a rule is past its bound, resumes when it recovers, and rolls back when the failure is confirmed', async () => {
    const t = setup({ rollouts: { 'rag-answer': { candidate: 'v4', minSamples: 50, minDwellMs: 10_000, windowMs: 120_000, latency: false, cost: false, errorRate: false } } }, { v3: 100 });
    t.clock.advance(11_000);
    t.feed('v3', 300, { quality: [0.8, 0.1] });
    t.feed('v4', 60, { quality: [0.8, 0.1] });
    t.guard.evaluate();
    expect(t.traffic.weights()).toEqual({ v3: 75, v4: 25 });

    // A small, noisy drop past the bound: the step is held, not left.
    t.clock.advance(11_000);
    // 20 scores of 0.1 and 20 of 1: the mean falls to about 0.70, the spread widens (p ≈ 0.3).
    for (let i = 0; i < 40; i++) t.guard.recordScore('v4', 'relevance', i % 2 === 0 ? 0.1 : 1, false);
    const held = t.guard.evaluate().v4![0]!;
    expect(held.status).toBe('breach');
    expect(t.guard.state).toBe('holding');
    expect(t.traffic.weights()).toEqual({ v3: 75, v4: 25 });
    expect(await t.metric('llmscope_prompt_rollout_state', { prompt_name: 'rag-answer', state: 'holding' })).toBe(1);

    // Then a clear fall: confirmed three times in a row → back to the baseline.
    for (let i = 0; i < 3; i++) {
      t.feed('v4', 40, { quality: [0.4, 0.1] });
      t.guard.evaluate();
    }
    expect(t.guard.state).toBe('rolled_back');
    expect(t.traffic.weights()).toEqual({ v3: 100 });
    expect(t.events.map((e) => e.type)).toEqual(['advance', 'hold', 'rollback']);
    expect(t.reporter.lines.map((l) => [l.level, l.fields.event])).toEqual([['info', 'prompt_rollout_step'], ['info', 'prompt_rollout_hold'], ['warn', 'prompt_rollback']]);
    t.close();
  });

  test('a quality rule with no scores at all holds the rollout where it is (insufficient, never a vacuous pass)', () => {
    const t = setup({ rollouts: { 'rag-answer': { candidate: 'v4', minSamples: 20, minDwellMs: 0 } } }, { v3: 100 });
    t.feed('v3', 100, { ...HEALTHY, quality: undefined });
    t.feed('v4', 100, { ...HEALTHY, quality: undefined });
    const outcomes = t.guard.evaluate().v4!;
    expect(outcomes[0]).toMatchObject({ rule: 'quality', status: 'insufficient' });
    expect(t.traffic.weights()).toEqual({ v3: 95, v4: 5 });
    t.close();
  });

  test('the evaluation timer is unref\'d and evaluates on its own', async () => {
    const t = setup({ guards: { 'rag-answer': { minSamples: 100, consecutive: 1, evaluateEveryMs: 100 } } });
    t.feed('v3', 400, HEALTHY);
    t.feed('v4', 120, { ...HEALTHY, quality: [0.5, 0.1] });
    const deadline = Date.now() + 10_000;
    while (t.guard.state !== 'rolled_back' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(t.guard.state).toBe('rolled_back');
    t.close();
  });
});
