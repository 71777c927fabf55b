import type { ArmSnapshot } from './arm';
import type { ResolvedRules } from './options';
import { binomialAboveTest, twoProportionTest, welchRatioTest, type TestResult } from './stats';

/** The guard's rules. */
export type RuleName = 'quality' | 'error_rate' | 'latency_p95' | 'cost';

/**
 * How a rule stands at one evaluation:
 * - `insufficient`: an arm has fewer samples than the rule's minimum (nothing decided);
 * - `pass`: the candidate is within the bound;
 * - `breach`: the candidate's estimate is past the bound, but not beyond noise at `alpha` (holds a rollout);
 * - `fail`: past the bound with confidence (one-sided test, p < `alpha`); `consecutive` of these roll back.
 */
export type RuleStatus = 'insufficient' | 'pass' | 'breach' | 'fail';

/** One rule's verdict at one evaluation, with the numbers it is based on. */
export interface RuleOutcome {
  readonly rule: RuleName;
  /** The score name, for the quality rule. */
  readonly score?: string;
  readonly status: RuleStatus;
  /** The candidate's value: mean score or pass rate, error rate, p95 seconds, cost per call (USD). */
  readonly candidate: number;
  readonly baseline: number;
  /** The bound the candidate's value is held to (a lower bound for quality, an upper bound otherwise). */
  readonly bound: number;
  /** The one-sided p-value; undefined with too few samples. */
  readonly pValue: number | undefined;
  readonly samples: { readonly candidate: number; readonly baseline: number };
  /** Whether a confirmed failure of this rule rolls back (else it only holds a rollout). */
  readonly rollsBack: boolean;
}

/** The key that tells one rule's consecutive failures apart (the quality rule has one per score). */
export function ruleKey(o: Pick<RuleOutcome, 'rule' | 'score'>): string {
  return o.score === undefined ? o.rule : `${o.rule}:${o.score}`;
}

function round(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 0.001 || a >= 1e6) ? x.toPrecision(3) : String(Math.round(x * 10000) / 10000);
}

/** One line with the rule and its numbers: `quality (relevance): candidate 0.62 vs baseline 0.81, bound >= 0.729, p = 0.0003, n = 150/1400`. */
export function describeOutcome(o: RuleOutcome): string {
  const name = o.score === undefined ? o.rule : `${o.rule} (${o.score})`;
  const unit = o.rule === 'latency_p95' ? ' s' : o.rule === 'cost' ? ' USD' : '';
  const side = o.rule === 'quality' ? '>=' : '<=';
  const p = o.pValue === undefined ? '' : `, p = ${round(o.pValue)}`;
  return `${name}: candidate ${round(o.candidate)}${unit} vs baseline ${round(o.baseline)}${unit}, bound ${side} ${round(o.bound)}${unit}${p}, n = ${o.samples.candidate}/${o.samples.baseline}`;
}

function status(enough: boolean, pastBound: boolean, test: TestResult | undefined, alpha: number): RuleStatus {
  if (!enough) return 'insufficient';
  if (!pastBound) return 'pass';
  return test !== undefined && test.pValue < alpha ? 'fail' : 'breach';
}

/**
 * The quality rule, per score name: numeric scores by a one-sided Welch test of
 * H0: candidate mean ≥ (1 − maxDrop) × baseline mean; boolean scores (pass rates) by a one-sided
 * two-proportion z test of the same hypothesis.
 */
export function qualityOutcomes(rules: NonNullable<ResolvedRules['quality']>, candidate: ArmSnapshot, baseline: ArmSnapshot, alpha: number): RuleOutcome[] {
  const names = rules.scores ?? [...new Set([...baseline.scores.keys(), ...candidate.scores.keys()])];
  const ratio = 1 - rules.maxDrop;
  const out: RuleOutcome[] = [];
  if (names.length === 0) {
    // No score yet: the rule cannot pass, so a rollout waits for scores (or `quality: false`).
    return [{ rule: 'quality', status: 'insufficient', candidate: NaN, baseline: NaN, bound: NaN, pValue: undefined, samples: { candidate: 0, baseline: 0 }, rollsBack: true }];
  }
  for (const score of names) {
    const c = candidate.scores.get(score);
    const b = baseline.scores.get(score);
    const nc = c?.moments.n ?? 0;
    const nb = b?.moments.n ?? 0;
    const enough = c !== undefined && b !== undefined && nc >= rules.minSamples && nb >= rules.minSamples;
    const cValue = c?.moments.mean ?? NaN;
    const bValue = b?.moments.mean ?? NaN;
    const bound = ratio * bValue;
    let test: TestResult | undefined;
    if (enough) {
      test = c.kind === 'boolean' && b.kind === 'boolean'
        ? twoProportionTest({ successes: c.successes, n: nc }, { successes: b.successes, n: nb }, { ratio })
        : welchRatioTest(c.moments, b.moments, ratio);
    }
    out.push({
      rule: 'quality', score, status: status(enough, cValue < bound, test, alpha), candidate: cValue, baseline: bValue, bound,
      pValue: test?.pValue, samples: { candidate: nc, baseline: nb }, rollsBack: true,
    });
  }
  return out;
}

/**
 * The error-rate rule: the candidate's rate against the lower of the baseline's rate plus
 * `maxIncrease` (one-sided two-proportion z test) and the absolute `max` (exact binomial test).
 */
export function errorRateOutcome(rules: NonNullable<ResolvedRules['errorRate']>, candidate: ArmSnapshot, baseline: ArmSnapshot, alpha: number): RuleOutcome {
  const nc = candidate.calls;
  const nb = baseline.calls;
  const enough = nc >= rules.minSamples && nb >= rules.minSamples;
  const cRate = nc === 0 ? NaN : candidate.errors / nc;
  const bRate = nb === 0 ? NaN : baseline.errors / nb;
  const relative = bRate + rules.maxIncrease;
  const absolute = rules.max ?? Infinity;
  const bound = Math.min(relative, absolute);
  let test: TestResult | undefined;
  if (enough) {
    test = absolute <= relative
      ? binomialAboveTest(candidate.errors, nc, absolute)
      : twoProportionTest({ successes: candidate.errors, n: nc }, { successes: baseline.errors, n: nb }, { margin: rules.maxIncrease, direction: 'above' });
  }
  return {
    rule: 'error_rate', status: status(enough, cRate > bound, test, alpha), candidate: cRate, baseline: bRate, bound,
    pValue: test?.pValue, samples: { candidate: nc, baseline: nb }, rollsBack: true,
  };
}

/**
 * The latency rule: the candidate's p95 against the lower of `maxP95Ratio` × the baseline's p95
 * and `maxP95Ms`. The confidence check is distribution-free: if the candidate's true p95 were at
 * or under the bound, at most 5% of its calls would be slower, so the count of slower calls is
 * tested against Binomial(n, 0.05) (exact). The baseline's p95 is taken as known (its own noise
 * is not modelled; `minSamples` on the baseline keeps it meaningful).
 */
export function latencyOutcome(rules: NonNullable<ResolvedRules['latency']>, candidate: ArmSnapshot, baseline: ArmSnapshot, alpha: number): RuleOutcome {
  const nc = candidate.latency.n;
  const nb = baseline.latency.n;
  const enough = nc >= rules.minSamples && nb >= rules.minSamples;
  const cP95 = candidate.latency.quantile(0.95);
  const bP95 = baseline.latency.quantile(0.95);
  const bound = Math.min(rules.maxP95Ratio * bP95, rules.maxP95Ms === undefined ? Infinity : rules.maxP95Ms / 1000);
  const test = enough ? binomialAboveTest(Math.round(candidate.latency.above(bound)), Math.round(nc), 0.05) : undefined;
  return {
    rule: 'latency_p95', status: status(enough, cP95 > bound, test, alpha), candidate: cP95, baseline: bP95, bound,
    pValue: test?.pValue, samples: { candidate: nc, baseline: nb }, rollsBack: true,
  };
}

/** The cost rule: mean cost per priced call, one-sided Welch test of H0: candidate ≤ maxRatio × baseline. */
export function costOutcome(rules: NonNullable<ResolvedRules['cost']>, candidate: ArmSnapshot, baseline: ArmSnapshot, alpha: number): RuleOutcome {
  const c = candidate.cost;
  const b = baseline.cost;
  const enough = c.n >= rules.minSamples && b.n >= rules.minSamples;
  const bound = rules.maxRatio * b.mean;
  const test = enough ? welchRatioTest(c, b, rules.maxRatio, 'above') : undefined;
  return {
    rule: 'cost', status: status(enough, c.mean > bound, test, alpha), candidate: c.mean, baseline: b.mean, bound,
    pValue: test?.pValue, samples: { candidate: c.n, baseline: b.n }, rollsBack: rules.rollback,
  };
}

/** Every enabled rule on one candidate against the baseline. */
export function evaluateRules(rules: ResolvedRules, candidate: ArmSnapshot, baseline: ArmSnapshot, alpha: number): RuleOutcome[] {
  const out: RuleOutcome[] = [];
  if (rules.quality !== undefined) out.push(...qualityOutcomes(rules.quality, candidate, baseline, alpha));
  if (rules.errorRate !== undefined) out.push(errorRateOutcome(rules.errorRate, candidate, baseline, alpha));
  if (rules.latency !== undefined) out.push(latencyOutcome(rules.latency, candidate, baseline, alpha));
  if (rules.cost !== undefined) out.push(costOutcome(rules.cost, candidate, baseline, alpha));
  return out;
}
