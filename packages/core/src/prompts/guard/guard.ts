import type { TrafficControl } from '../traffic';
import { ArmWindows, emptySnapshot, type ArmSnapshot } from './arm';
import type { GuardMetrics, GuardState } from './metrics';
import type { ResolvedGuard } from './options';
import type { GuardReporter } from './report';
import { describeOutcome, evaluateRules, ruleKey, type RuleOutcome } from './rules';

/** Something a guard did: a rollout step, the promotion, a hold, a rollback. */
export type GuardEvent =
  | { readonly type: 'rollback'; readonly prompt: string; readonly from: string; readonly to: string; readonly outcome: RuleOutcome; readonly consecutive: number; readonly weights: Readonly<Record<string, number>>; readonly reason: string }
  | { readonly type: 'advance'; readonly prompt: string; readonly candidate: string; readonly step: number; readonly weight: number; readonly weights: Readonly<Record<string, number>>; readonly reason: string }
  | { readonly type: 'complete'; readonly prompt: string; readonly candidate: string; readonly weights: Readonly<Record<string, number>>; readonly reason: string }
  | { readonly type: 'hold'; readonly prompt: string; readonly candidate: string; readonly outcomes: readonly RuleOutcome[]; readonly reason: string };

/** A listener of {@link GuardEvent}s; a throwing listener is skipped. */
export type GuardListener = (event: GuardEvent) => void;

/** What {@link PromptGuard.status} tells. */
export interface GuardStatus {
  readonly prompt: string;
  readonly state: GuardState;
  readonly baseline: string | undefined;
  /** The rollout's candidate, or the candidates a guard watches. */
  readonly candidates: readonly string[];
  /** Index in the rollout's steps, or undefined for a guard. */
  readonly step: number | undefined;
  readonly weights: Readonly<Record<string, number>>;
  /** The outcomes of the last evaluation, by candidate. */
  readonly outcomes: Readonly<Record<string, readonly RuleOutcome[]>>;
}

/** What a {@link PromptGuard} needs besides its options. */
export interface GuardDeps {
  readonly control: TrafficControl;
  readonly reporter: GuardReporter;
  readonly metrics?: GuardMetrics;
  /** The clock, milliseconds (tests drive it). Default `Date.now`. */
  readonly now?: () => number;
}

/** Versions a guard keeps windows for: the weighted ones plus a few (forced variants). */
const MAX_ARMS = 16;

/**
 * The rollback guard (and rollout) of one prompt. LLM-call records and scores of the prompt are
 * appended to per-version rolling windows ({@link recordCall}, {@link recordScore}: the only work
 * done when a call or score arrives); {@link evaluate}, run on a timer, compares each candidate with
 * the baseline, moves a rollout on, holds it, or sends all traffic back to the baseline.
 */
export class PromptGuard {
  readonly prompt: string;
  private readonly arms = new Map<string, ArmWindows>();
  private readonly listeners = new Set<GuardListener>();
  private readonly failures = new Map<string, number>();
  /** Samples of the candidate's arm at the last evaluation that counted toward `consecutive`. */
  private readonly lastCounted = new Map<string, number>();
  private readonly now: () => number;
  private baselineVersion: string | undefined;
  private current: GuardState;
  private stepIndex: number | undefined;
  private stepSince = 0;
  private lastOutcomes: Record<string, readonly RuleOutcome[]> = {};

  constructor(readonly config: ResolvedGuard, private readonly deps: GuardDeps) {
    this.prompt = config.prompt;
    this.now = deps.now ?? Date.now;
    this.baselineVersion = config.baseline;
    this.current = config.rollout === undefined ? 'watching' : 'rolling_out';
  }

  /**
   * Starts the guard: fixes the baseline (the configured one, else the version with the largest
   * weight now) and, for a rollout, sets the first step's weights. Throws when the experiment
   * refuses them (a candidate it does not have).
   */
  start(): void {
    const weights = this.deps.control.weights();
    if (this.baselineVersion === undefined) {
      let best: string | undefined;
      for (const [version, w] of Object.entries(weights)) {
        if (version === this.config.rollout?.candidate) continue;
        if (best === undefined || w > (weights[best] as number)) best = version;
      }
      this.baselineVersion = best;
    }
    this.deps.metrics?.weights(this.prompt, weights);
    this.deps.metrics?.setState(this.prompt, this.current);
    const rollout = this.config.rollout;
    if (rollout !== undefined && this.baselineVersion !== undefined) {
      this.stepIndex = 0;
      this.stepSince = this.now();
      const w = rollout.steps[0] as number;
      if (w >= 100) {
        this.complete(rollout.candidate);
        return;
      }
      const first = { [this.baselineVersion]: 100 - w, [rollout.candidate]: w };
      // Not through setWeights(): an experiment refusing the first step (an unknown candidate) is a start-up error.
      this.deps.control.setWeights(first, `rollout of ${this.prompt} ${rollout.candidate} starts at ${w}%`);
      this.deps.metrics?.weights(this.prompt, first, weights);
    }
  }

  /** The baseline version (the last good one). */
  get baseline(): string | undefined {
    return this.baselineVersion;
  }

  get state(): GuardState {
    return this.current;
  }

  /** Adds a listener of this guard's events; returns a function that removes it. */
  on(listener: GuardListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private arm(version: string): ArmWindows | undefined {
    let arm = this.arms.get(version);
    if (arm === undefined) {
      if (this.arms.size >= MAX_ARMS) return undefined;
      arm = new ArmWindows(version, { maxSamples: this.config.windowSize, maxAgeMs: this.config.windowMs, maxScoreNames: this.config.maxScoreNames });
      this.arms.set(version, arm);
    }
    return arm;
  }

  /** One LLM call of this prompt (any version). Cheap: appends to the version's window. */
  recordCall(version: string, seconds: number, failed: boolean, costUsd: number | null | undefined): void {
    this.arm(version)?.addCall(this.now(), seconds, failed, typeof costUsd === 'number' ? costUsd : NaN);
  }

  /** One numeric or boolean score of this prompt's version. */
  recordScore(version: string, name: string, value: number, isBoolean: boolean): void {
    this.arm(version)?.addScore(this.now(), name, value, isBoolean);
  }

  /** The candidates compared with the baseline: the rollout's, else every other weighted version. */
  private candidates(): string[] {
    const baseline = this.baselineVersion;
    if (this.config.rollout !== undefined) return [this.config.rollout.candidate];
    const weights = this.deps.control.weights();
    return Object.keys(weights).filter((v) => v !== baseline && (weights[v] as number) > 0);
  }

  private snapshot(version: string, now: number): ArmSnapshot {
    return this.arms.get(version)?.snapshot(now) ?? emptySnapshot(version);
  }

  /**
   * Evaluates every rule for every candidate now, on this process's windows. A rule failing
   * with confidence in `consecutive` evaluations in a row (each with new samples of the
   * candidate) rolls back; a rollout whose rules all pass and whose step has lasted `minDwellMs`
   * moves to its next step. Returns the outcomes by candidate.
   */
  evaluate(): Readonly<Record<string, readonly RuleOutcome[]>> {
    const now = this.now();
    return this.evaluateWith((version) => this.snapshot(version, now));
  }

  /** The versions an evaluation needs: the baseline and the candidates (for a fleet source to fetch). */
  versions(): string[] {
    const baseline = this.baselineVersion;
    return baseline === undefined ? [] : [baseline, ...this.candidates()];
  }

  /** Whether the guard still decides (not completed, not rolled back). */
  get active(): boolean {
    return this.current !== 'completed' && this.current !== 'rolled_back';
  }

  /**
   * {@link evaluate} on arms given by `arm` (the fleet's aggregate read from Prometheus, for
   * instance). A version `arm` does not know counts as empty.
   */
  evaluateWith(arm: (version: string) => ArmSnapshot | undefined): Readonly<Record<string, readonly RuleOutcome[]>> {
    if (!this.active) return this.lastOutcomes;
    const baseline = this.baselineVersion;
    if (baseline === undefined) return this.lastOutcomes;
    const base = arm(baseline) ?? emptySnapshot(baseline);
    const outcomes: Record<string, readonly RuleOutcome[]> = {};
    for (const candidate of this.candidates()) {
      const snapshot = arm(candidate) ?? emptySnapshot(candidate);
      const results = evaluateRules(this.config.rules, snapshot, base, this.config.alpha);
      outcomes[candidate] = results;
      this.deps.metrics?.checked(this.prompt, results);
      // The same samples seen again are not a new failure: count only with new candidate samples.
      const fresh = snapshot.token !== this.lastCounted.get(candidate);
      if (fresh) this.lastCounted.set(candidate, snapshot.token);
      for (const o of results) {
        const key = `${candidate}\u0000${ruleKey(o)}`;
        if (o.status !== 'fail') this.failures.delete(key);
        else if (fresh) this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
        const count = this.failures.get(key) ?? 0;
        if (o.status === 'fail' && o.rollsBack && count >= this.config.consecutive) {
          this.lastOutcomes = outcomes;
          this.rollback(candidate, baseline, o, count);
          return outcomes;
        }
      }
    }
    this.lastOutcomes = outcomes;
    if (this.config.rollout !== undefined) this.progress(outcomes[this.config.rollout.candidate] ?? [], this.now());
    return outcomes;
  }

  /** A rollout's step: advance when every rule passes and the dwell time is over, else hold or wait. */
  private progress(outcomes: readonly RuleOutcome[], now: number): void {
    const rollout = this.config.rollout;
    const baseline = this.baselineVersion;
    if (rollout === undefined || baseline === undefined || this.stepIndex === undefined) return;
    const past = outcomes.filter((o) => o.status === 'breach' || o.status === 'fail');
    if (past.length > 0) {
      if (this.current !== 'holding') {
        const reason = `rollout of ${this.prompt} ${rollout.candidate} holds at ${rollout.steps[this.stepIndex]}%: ${past.map(describeOutcome).join('; ')}`;
        this.setState('holding');
        this.deps.reporter.log('info', { event: 'prompt_rollout_hold', prompt_name: this.prompt, prompt_version: rollout.candidate, baseline_version: baseline, weight: rollout.steps[this.stepIndex], rules: past.map(ruleKey), reason }, 'prompt rollout holds');
        this.emit({ type: 'hold', prompt: this.prompt, candidate: rollout.candidate, outcomes: past, reason });
      }
      return;
    }
    if (this.current === 'holding') this.setState('rolling_out');
    const allPass = outcomes.length > 0 && outcomes.every((o) => o.status === 'pass');
    if (!allPass || now - this.stepSince < rollout.minDwellMs) return;
    const next = this.stepIndex + 1;
    const weight = next < rollout.steps.length ? (rollout.steps[next] as number) : 100;
    if (weight >= 100) {
      this.complete(rollout.candidate, outcomes);
      return;
    }
    this.stepIndex = next;
    this.stepSince = now;
    const weights = { [baseline]: 100 - weight, [rollout.candidate]: weight };
    const reason = `rollout of ${this.prompt} ${rollout.candidate} advances to ${weight}% (step ${next + 1} of ${rollout.steps.length}): ${outcomes.map(describeOutcome).join('; ')}`;
    this.setWeights(weights, reason);
    this.deps.reporter.log('info', { event: 'prompt_rollout_step', prompt_name: this.prompt, prompt_version: rollout.candidate, baseline_version: baseline, step: next + 1, weight, reason }, 'prompt rollout advances');
    this.emit({ type: 'advance', prompt: this.prompt, candidate: rollout.candidate, step: next, weight, weights, reason });
  }

  private complete(candidate: string, outcomes: readonly RuleOutcome[] = []): void {
    const weights = { [candidate]: 100 };
    const reason = `rollout of ${this.prompt} ${candidate} completes: 100%${outcomes.length > 0 ? `: ${outcomes.map(describeOutcome).join('; ')}` : ''}`;
    this.setWeights(weights, reason);
    const previous = this.baselineVersion;
    // The candidate is now the last good version.
    this.baselineVersion = candidate;
    this.setState('completed');
    this.deps.reporter.log('info', { event: 'prompt_rollout_complete', prompt_name: this.prompt, prompt_version: candidate, baseline_version: previous, weight: 100, reason }, 'prompt rollout completes');
    this.emit({ type: 'complete', prompt: this.prompt, candidate, weights, reason });
  }

  private rollback(candidate: string, baseline: string, outcome: RuleOutcome, consecutive: number): void {
    const weights = { [baseline]: 100 };
    const reason = `prompt ${this.prompt} rolled back from ${candidate} to ${baseline}: ${describeOutcome(outcome)} (failed ${consecutive} evaluations in a row, alpha ${this.config.alpha})`;
    this.setWeights(weights, reason);
    this.setState('rolled_back');
    this.deps.metrics?.rolledBack(this.prompt, candidate, outcome.rule);
    const numbers: Record<string, unknown> = {
      rule: outcome.rule, candidate_value: outcome.candidate, baseline_value: outcome.baseline, bound: outcome.bound,
      p_value: outcome.pValue, samples_candidate: outcome.samples.candidate, samples_baseline: outcome.samples.baseline, consecutive, alpha: this.config.alpha,
    };
    if (outcome.score !== undefined) numbers.score = outcome.score;
    this.deps.reporter.log('warn', { event: 'prompt_rollback', prompt_name: this.prompt, prompt_version: candidate, baseline_version: baseline, ...numbers, reason }, 'prompt rollback');
    try {
      this.deps.reporter.message(`llmscope: ${reason}`, {
        'llmscope.source': 'prompt_guard', 'prompt.name': this.prompt, 'prompt.version': candidate, 'prompt.baseline': baseline, 'llmscope.guard.rule': outcome.rule,
      }, numbers);
    } catch {
      // Reporting never stops a rollback.
    }
    this.emit({ type: 'rollback', prompt: this.prompt, from: candidate, to: baseline, outcome, consecutive, weights, reason });
  }

  private setWeights(weights: Record<string, number>, reason: string): void {
    const previous = this.deps.control.weights();
    try {
      this.deps.control.setWeights(weights, reason);
    } catch (error) {
      this.deps.reporter.log('warn', { event: 'prompt_guard_failed', prompt_name: this.prompt, error: error instanceof Error ? error.message : String(error), reason }, 'prompt guard could not set weights');
      return;
    }
    this.deps.metrics?.weights(this.prompt, weights, previous);
  }

  private setState(state: GuardState): void {
    this.current = state;
    this.deps.metrics?.setState(this.prompt, state);
  }

  private emit(event: GuardEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A throwing listener is skipped; the others still hear.
      }
    }
  }

  /** The guard's state, weights and last outcomes. */
  status(): GuardStatus {
    return {
      prompt: this.prompt, state: this.current, baseline: this.baselineVersion, candidates: this.candidates(), step: this.stepIndex,
      weights: this.deps.control.weights(), outcomes: this.lastOutcomes,
    };
  }
}
