import type { Counter, Histogram, Registry } from 'prom-client';
import { counter, histogram } from '../../http/prom';

/**
 * Buckets of `llmscope_prompt_guard_call_duration_seconds`: 50 ms to ~2 min in steps of 1.25×,
 * so that a p95 1.5× the baseline's is at least one bucket apart (the LLM duration histogram
 * doubles per bucket, too coarse for that).
 */
export const GUARD_DURATION_BUCKETS: readonly number[] = Array.from({ length: 36 }, (_, k) => Number((0.05 * 1.25 ** k).toPrecision(3)));

/** Versions and score names per guarded prompt that get series; more are not recorded (bounded labels). */
const MAX_VERSIONS = 16;

interface PromptSeries {
  readonly versions: Set<string>;
  readonly scores: Set<string>;
  readonly maxScores: number;
}

/** The children of one prompt version, looked up once (label hashing is the costly part of an inc). */
interface CallChildren {
  readonly ok: Counter.Internal;
  readonly error: Counter.Internal;
  readonly duration: Histogram.Internal<'prompt_name' | 'prompt_version'>;
  readonly priced: Counter.Internal;
  readonly cost: Counter.Internal;
  readonly costSquared: Counter.Internal;
}

interface ScoreChildren {
  readonly count: Counter.Internal;
  readonly value: Counter.Internal;
  readonly squared: Counter.Internal;
}

/**
 * What each replica exports for a fleet guard to read from Prometheus: per guarded prompt and
 * version, the sufficient statistics of the rules (counts, sums and sums of squares, a
 * latency histogram), so that `increase(...[window])` summed over replicas gives the fleet's
 * counts, means and variances exactly. Recorded only with `prompts.fleet`, only for guarded prompts.
 */
export class GuardFleetMetrics {
  readonly calls: Counter<'prompt_name' | 'prompt_version' | 'outcome'>;
  readonly duration: Histogram<'prompt_name' | 'prompt_version'>;
  readonly costCalls: Counter<'prompt_name' | 'prompt_version'>;
  readonly cost: Counter<'prompt_name' | 'prompt_version'>;
  readonly costSquared: Counter<'prompt_name' | 'prompt_version'>;
  readonly scores: Counter<'prompt_name' | 'prompt_version' | 'score' | 'kind'>;
  readonly scoreValue: Counter<'prompt_name' | 'prompt_version' | 'score' | 'kind'>;
  readonly scoreSquared: Counter<'prompt_name' | 'prompt_version' | 'score' | 'kind'>;
  private readonly prompts = new Map<string, PromptSeries>();
  private readonly callChildren = new Map<string, CallChildren>();
  private readonly scoreChildren = new Map<string, ScoreChildren>();

  constructor(registry: Registry) {
    const pv = ['prompt_name', 'prompt_version'] as const;
    const ps = ['prompt_name', 'prompt_version', 'score', 'kind'] as const;
    this.calls = counter(registry, 'llmscope_prompt_guard_calls_total', 'LLM calls of guarded prompts, by prompt, version and outcome (ok, error): read by fleet guards.', ['prompt_name', 'prompt_version', 'outcome']);
    this.duration = histogram(registry, 'llmscope_prompt_guard_call_duration_seconds', 'Duration of the successful LLM calls of guarded prompts, by prompt and version: read by fleet guards.', pv, [...GUARD_DURATION_BUCKETS]);
    this.costCalls = counter(registry, 'llmscope_prompt_guard_priced_calls_total', 'Priced LLM calls of guarded prompts, by prompt and version: read by fleet guards.', pv);
    this.cost = counter(registry, 'llmscope_prompt_guard_cost_usd_total', 'Cost of the LLM calls of guarded prompts (USD), by prompt and version: read by fleet guards.', pv);
    this.costSquared = counter(registry, 'llmscope_prompt_guard_cost_usd_squared_total', 'Sum of squared costs per call of guarded prompts (USD²), for the variance: read by fleet guards.', pv);
    this.scores = counter(registry, 'llmscope_prompt_guard_scores_total', 'Numeric and boolean scores of guarded prompts, by prompt, version, score name and kind: read by fleet guards.', ps);
    this.scoreValue = counter(registry, 'llmscope_prompt_guard_score_value_total', 'Sum of the scores of guarded prompts (booleans as 1/0): read by fleet guards.', ps);
    this.scoreSquared = counter(registry, 'llmscope_prompt_guard_score_squared_total', 'Sum of the squared scores of guarded prompts, for the variance: read by fleet guards.', ps);
  }

  /**
   * Declares a guarded prompt and creates its series at 0 for the versions and score names known
   * now: Prometheus's `increase()` only sees a series' growth from its first scrape, so a series
   * born with its first call would lose that call.
   */
  declare(prompt: string, versions: readonly string[], scores: readonly string[] | undefined, maxScores: number): void {
    this.prompts.set(prompt, { versions: new Set(), scores: new Set(), maxScores });
    for (const version of versions) {
      if (!this.version(prompt, version)) continue;
      this.calls.inc({ prompt_name: prompt, prompt_version: version, outcome: 'ok' }, 0);
      this.calls.inc({ prompt_name: prompt, prompt_version: version, outcome: 'error' }, 0);
      this.duration.zero({ prompt_name: prompt, prompt_version: version });
      for (const c of [this.costCalls, this.cost, this.costSquared]) c.inc({ prompt_name: prompt, prompt_version: version }, 0);
      for (const score of scores ?? []) {
        if (!this.score(prompt, score)) continue;
        for (const kind of ['numeric', 'boolean']) for (const c of [this.scores, this.scoreValue, this.scoreSquared]) c.inc({ prompt_name: prompt, prompt_version: version, score, kind }, 0);
      }
    }
  }

  private version(prompt: string, version: string): boolean {
    const p = this.prompts.get(prompt);
    if (p === undefined) return false;
    if (p.versions.has(version)) return true;
    if (p.versions.size >= MAX_VERSIONS) return false;
    p.versions.add(version);
    return true;
  }

  private score(prompt: string, name: string): boolean {
    const p = this.prompts.get(prompt);
    if (p === undefined) return false;
    if (p.scores.has(name)) return true;
    if (p.scores.size >= p.maxScores) return false;
    p.scores.add(name);
    return true;
  }

  private callChildrenOf(prompt: string, version: string): CallChildren | undefined {
    const key = `${prompt}\u0000${version}`;
    let c = this.callChildren.get(key);
    if (c === undefined) {
      if (!this.version(prompt, version)) return undefined;
      const labels = { prompt_name: prompt, prompt_version: version };
      c = {
        ok: this.calls.labels({ prompt_name: prompt, prompt_version: version, outcome: 'ok' }), error: this.calls.labels({ prompt_name: prompt, prompt_version: version, outcome: 'error' }),
        duration: this.duration.labels(labels), priced: this.costCalls.labels(labels), cost: this.cost.labels(labels), costSquared: this.costSquared.labels(labels),
      };
      this.callChildren.set(key, c);
    }
    return c;
  }

  /** One LLM call of a guarded prompt: a few increments on cached children. */
  call(prompt: string, version: string, seconds: number, failed: boolean, costUsd: number | null | undefined): void {
    const c = this.callChildrenOf(prompt, version);
    if (c === undefined) return;
    if (failed) c.error.inc();
    else {
      c.ok.inc();
      c.duration.observe(seconds);
    }
    if (typeof costUsd === 'number' && Number.isFinite(costUsd) && costUsd >= 0) {
      c.priced.inc();
      c.cost.inc(costUsd);
      c.costSquared.inc(costUsd * costUsd);
    }
  }

  /** One numeric or boolean score of a guarded prompt. */
  recordScore(prompt: string, version: string, name: string, value: number, isBoolean: boolean): void {
    // Counters only go up: a negative score (out of the 0–1 range) cannot be summed, and is left out.
    if (!(value >= 0) || !Number.isFinite(value)) return;
    const kind = isBoolean ? 'boolean' : 'numeric';
    const key = `${prompt}\u0000${version}\u0000${name}\u0000${kind}`;
    let c = this.scoreChildren.get(key);
    if (c === undefined) {
      if (!this.version(prompt, version) || !this.score(prompt, name)) return;
      const labels = { prompt_name: prompt, prompt_version: version, score: name, kind };
      c = { count: this.scores.labels(labels), value: this.scoreValue.labels(labels), squared: this.scoreSquared.labels(labels) };
      this.scoreChildren.set(key, c);
    }
    c.count.inc();
    c.value.inc(value);
    c.squared.inc(value * value);
  }
}
