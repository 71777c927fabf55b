import type { Registry } from 'prom-client';
import { LabelCap } from '../../genai/labels';
import { counter, gauge } from '../../http/prom';
import type { RuleOutcome } from './rules';

/** The states a guarded prompt can be in (`llmscope_prompt_rollout_state`). */
export const GUARD_STATES = ['watching', 'rolling_out', 'holding', 'completed', 'rolled_back'] as const;
/** A guarded prompt's state: `watching` (a guard without rollout), `rolling_out` (on a step, waiting for samples or dwell time), `holding` (a rule is past its bound: the step is not left), `completed` (the candidate has 100%), `rolled_back`. */
export type GuardState = typeof GUARD_STATES[number];

/**
 * The guard's metrics. Labels are bounded: prompts are the configured ones, versions are capped,
 * rules and states are fixed sets.
 */
export class GuardMetrics {
  private readonly weight;
  private readonly state;
  private readonly rollbacks;
  private readonly checks;
  private readonly versions = new LabelCap(100, 'none');

  constructor(registry: Registry) {
    this.weight = gauge(registry, 'llmscope_prompt_rollout_weight', 'Share of traffic (percent) each version of a guarded prompt gets, as set by its rollout or guard.', ['prompt_name', 'prompt_version']);
    this.state = gauge(registry, 'llmscope_prompt_rollout_state', 'State of a guarded prompt: 1 for its current state (watching, rolling_out, holding, completed, rolled_back), 0 for the others.', ['prompt_name', 'state']);
    this.rollbacks = counter(registry, 'llmscope_prompt_rollbacks_total', 'Rollbacks of a prompt version to the baseline, by prompt, rolled-back version and the rule that fired.', ['prompt_name', 'prompt_version', 'rule']);
    this.checks = counter(registry, 'llmscope_prompt_guard_checks_total', 'Rule evaluations of guarded prompts, by prompt, rule and result (insufficient, pass, breach, fail).', ['prompt_name', 'rule', 'status']);
  }

  /** The weights just set (or read at start), in percent of their sum. */
  weights(prompt: string, weights: Readonly<Record<string, number>>, previous?: Readonly<Record<string, number>>): void {
    let sum = 0;
    for (const v of Object.values(weights)) sum += v;
    // A version that left the weights shows 0 rather than its last share.
    if (previous !== undefined) for (const version of Object.keys(previous)) if (!(version in weights)) this.weight.set({ prompt_name: prompt, prompt_version: this.versions.get(version) }, 0);
    for (const [version, w] of Object.entries(weights)) this.weight.set({ prompt_name: prompt, prompt_version: this.versions.get(version) }, sum > 0 ? (100 * w) / sum : 0);
  }

  setState(prompt: string, state: GuardState): void {
    for (const s of GUARD_STATES) this.state.set({ prompt_name: prompt, state: s }, s === state ? 1 : 0);
  }

  rolledBack(prompt: string, version: string, rule: string): void {
    this.rollbacks.inc({ prompt_name: prompt, prompt_version: this.versions.get(version), rule });
  }

  checked(prompt: string, outcomes: readonly RuleOutcome[]): void {
    for (const o of outcomes) this.checks.inc({ prompt_name: prompt, rule: o.rule, status: o.status });
  }
}
