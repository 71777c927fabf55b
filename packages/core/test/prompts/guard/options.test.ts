import { Registry } from 'prom-client';
import { LlmscopeConfigError } from '../../../src';
import { PromptGuards } from '../../../src/prompts/guard/guards';
import { GUARD_DEFAULTS, resolvePromptGuards, type PromptGuardsOptions } from '../../../src/prompts/guard/options';
import { MemoryTraffic } from './helpers';

function message(value: unknown): string {
  try {
    resolvePromptGuards('prompts', value as PromptGuardsOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(LlmscopeConfigError);
    return (error as Error).message;
  }
  return 'accepted';
}

describe('guard and rollout options', () => {
  test('defaults', () => {
    const { guards: [guard, rollout], fleet } = resolvePromptGuards('prompts', { guards: { a: {} }, rollouts: { b: { candidate: 'v4' } } });
    expect(guard).toEqual({
      prompt: 'a', at: 'prompts.guards["a"]', baseline: undefined, minSamples: 100, alpha: 0.01, consecutive: 3, windowMs: 1_800_000, windowSize: 2000,
      maxScoreNames: 8, evaluateEveryMs: 10_000, rollout: undefined,
      rules: {
        quality: { maxDrop: 0.1, scores: undefined, minSamples: 100 },
        errorRate: { maxIncrease: 0.05, max: undefined, minSamples: 100 },
        latency: { maxP95Ratio: 1.5, maxP95Ms: undefined, minSamples: 100 },
        cost: { maxRatio: 1.25, rollback: false, minSamples: 100 },
      },
    });
    expect(rollout).toMatchObject({ prompt: 'b', at: 'prompts.rollouts["b"]', rollout: { candidate: 'v4', steps: [5, 25, 50, 100], minDwellMs: GUARD_DEFAULTS.minDwellMs } });
    expect(resolvePromptGuards('prompts', undefined)).toEqual({ guards: [], fleet: undefined });
    expect(fleet).toBeUndefined();
    const { guards: [custom] } = resolvePromptGuards('prompts', { guards: { 'rag-answer': { minSamples: 50, quality: { minSamples: 200, scores: ['relevance'] }, latency: false } } });
    expect(custom!.rules.quality).toEqual({ maxDrop: 0.1, scores: ['relevance'], minSamples: 200 });
    expect(custom!.rules.errorRate!.minSamples).toBe(50);
    expect(custom!.rules.latency).toBeUndefined();
  });

  test.each<[string, unknown, string]>([
    ['an unknown key, with the closest', { guards: { 'rag-answer': { minSample: 10 } } }, 'llmscope: unknown option `prompts.guards["rag-answer"].minSample`. Did you mean `prompts.guards["rag-answer"].minSamples`? Known options: baseline, minSamples, alpha, consecutive, windowMs, windowSize, maxScoreNames, evaluateEveryMs, quality, errorRate, latency, cost, langfuseLabel.'],
    ['maxDrop as a percentage', { guards: { x: { quality: { maxDrop: 10 } } } }, 'llmscope: option `prompts.guards["x"].quality.maxDrop` must be a number between 0 and 1 (excluded), such as 0.1 for 10%, got 10.'],
    ['alpha out of range', { guards: { x: { alpha: 0.9 } } }, 'llmscope: option `prompts.guards["x"].alpha` must be a significance level between 0.0001 and 0.5, such as 0.05, got 0.9.'],
    ['a rollout without candidate', { rollouts: { x: { steps: [10, 100] } } }, 'llmscope: option `prompts.rollouts["x"].candidate` is required: the version to roll out, a version name such as "v3" (a non-empty string).'],
    ['steps not increasing', { rollouts: { x: { candidate: 'v2', steps: [50, 25] } } }, 'llmscope: option `prompts.rollouts["x"].steps` must be an increasing array of percentages in (0, 100], such as [5, 25, 50, 100], got [50, 25].'],
    ['a candidate equal to the baseline', { rollouts: { x: { candidate: 'v2', baseline: 'v2' } } }, 'llmscope: option `prompts.rollouts["x"].candidate` and `prompts.rollouts["x"].baseline` are both "v2": the candidate must be another version than the baseline.'],
    ['a guard and a rollout on one prompt', { guards: { x: {} }, rollouts: { x: { candidate: 'v2' } } }, 'llmscope: prompt "x" has both `prompts.guards["x"]` and `prompts.rollouts["x"]`: a rollout guards its own prompt, so move the guard\'s rules into the rollout and remove the guard.'],
    ['every rule off', { guards: { x: { quality: false, errorRate: false, latency: false, cost: false } } }, 'llmscope: prompts.guards["x"] turns every rule off (quality, errorRate, latency, cost): keep at least one, or remove the guard.'],
    ['a rule as true', { guards: { x: { latency: true } } }, 'llmscope: option `prompts.guards["x"].latency` must be an object or false, got true.'],
    ['a ratio under 1', { guards: { x: { latency: { maxP95Ratio: 0.5 } } } }, 'llmscope: option `prompts.guards["x"].latency.maxP95Ratio` must be a number >= 1, such as 1.5, got 0.5.'],
    ['guards not an object', { guards: [] }, 'llmscope: option `prompts.guards` must be an object of guards by prompt name, such as { "rag-answer": { minSamples: 100 } }, got an empty array.'],
  ])('%s is refused with what to change', (_, value, expected) => {
    expect(message(value)).toBe(expected);
  });

  test('at start: a guard for a prompt without an experiment, or a baseline that is not one of its versions, is refused', () => {
    const traffic = new MemoryTraffic('rag-answer', { v3: 90, v4: 10 });
    const build = (o: PromptGuardsOptions) => () => new PromptGuards(resolvePromptGuards('prompts', o), { control: (p) => (p === 'rag-answer' ? traffic : undefined), registry: new Registry() });
    expect(build({ rollouts: { summary: { candidate: 'v2' } } })).toThrow('llmscope: rollout `prompts.rollouts["summary"]` is for prompt "summary", which has no experiment: declare its versions and weights in the prompt\'s experiment, or remove the rollout.');
    expect(build({ guards: { 'rag-answer': { baseline: 'v9' } } })).toThrow('llmscope: option `prompts.guards["rag-answer"].baseline` is "v9", which is not a version of the experiment of "rag-answer" (v3, v4).');
    expect(build({ guards: { 'rag-answer': {} } })).not.toThrow();
  });

  test('at start: a rollout whose candidate the experiment refuses is a start-up error, with the experiment\'s reason', () => {
    // Like the registry's experiments: versions the prompt does not have are refused.
    const strict = new MemoryTraffic('rag-answer', { v3: 100 });
    strict.setWeights = (weights) => {
      for (const v of Object.keys(weights)) if (v !== 'v3' && v !== 'v4') throw new TypeError(`names version ${JSON.stringify(v)}, which the prompt does not have`);
    };
    const guards = new PromptGuards(resolvePromptGuards('prompts', { rollouts: { 'rag-answer': { candidate: 'v5' } } }), { control: () => strict });
    expect(() => guards.start()).toThrow(new LlmscopeConfigError('option `prompts.rollouts["rag-answer"].candidate`: the experiment of "rag-answer" refused the rollout\'s first weights: names version "v5", which the prompt does not have'));
  });
});
