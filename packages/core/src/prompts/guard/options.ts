import { arrayOf, boolean, check, configError, entry, field, httpUrl, invalid, nonEmptyString, numberInRange, object, positiveInt, positiveNumber, record, required } from '../../config/validate';
import type { ResolvedFleet } from './prometheus';

/** The quality rule: the candidate's scores against the baseline's. */
export interface QualityRuleOptions {
  /**
   * Largest drop of the candidate's mean score below the baseline's, as a fraction of the
   * baseline's: 0.1 fails a candidate scoring under 90% of the baseline. Default 0.1.
   */
  maxDrop?: number;
  /**
   * Score names compared (numeric scores in 0–1, higher is better, or booleans as pass rates).
   * Default: every score name the arms received (at most `maxScoreNames`), each on its own.
   */
  scores?: string[];
  /** Scores per arm (per score name) before the rule decides anything. Default: the guard's `minSamples`. */
  minSamples?: number;
}

/** The error-rate rule: failed LLM calls of the candidate. */
export interface ErrorRateRuleOptions {
  /** Largest rise over the baseline's error rate, in points: 0.05 allows 2% → 7%. Default 0.05. */
  maxIncrease?: number;
  /** An absolute ceiling on the candidate's error rate (0.1 = 10%), whatever the baseline's. Default none. */
  max?: number;
  /** Calls per arm before the rule decides anything. Default: the guard's `minSamples`. */
  minSamples?: number;
}

/** The latency rule: p95 duration of the candidate's successful LLM calls. */
export interface LatencyRuleOptions {
  /** Largest candidate p95 as a multiple of the baseline's p95. Default 1.5. */
  maxP95Ratio?: number;
  /** An absolute ceiling on the candidate's p95, milliseconds. Default none. */
  maxP95Ms?: number;
  /** Successful calls per arm before the rule decides anything. Default: the guard's `minSamples`. */
  minSamples?: number;
}

/** The cost rule: mean cost per LLM call of the candidate. */
export interface CostRuleOptions {
  /** Largest candidate cost per call as a multiple of the baseline's. Default 1.25. */
  maxRatio?: number;
  /**
   * Whether a confirmed cost excess rolls back (`true`) or only halts a rollout (`false`, the
   * default: a dearer prompt is a decision, not an incident).
   */
  rollback?: boolean;
  /** Priced calls per arm before the rule decides anything. Default: the guard's `minSamples`. */
  minSamples?: number;
}

/**
 * A rollback guard on one prompt's experiment (`prompts.guards["rag-answer"]`): the candidate
 * versions are compared with the baseline over rolling windows, and a rule confirmed failing
 * (enough samples, one-sided test at `alpha`, `consecutive` evaluations in a row) sends all
 * traffic back to the baseline. See docs/prompt-rollouts.md.
 */
export interface GuardOptions {
  /** The last good version, where traffic goes back. Default: the version with the largest weight when the guard starts. */
  baseline?: string;
  /** Samples per arm before any rule decides (each rule may ask for more). Default 100. */
  minSamples?: number;
  /** Significance level of the one-sided tests. Default 0.01 (with `consecutive` 3 and repeated evaluations, about 5% false rollbacks for a candidate exactly at the bound: docs/prompt-rollouts.md). */
  alpha?: number;
  /** Evaluations in a row (each with new samples) a rule must fail before traffic moves back. Default 3. */
  consecutive?: number;
  /** Age of the oldest sample in the rolling windows, milliseconds. Default 1800000 (30 min). */
  windowMs?: number;
  /** Samples kept per window (calls, and each score name). Default 2000. */
  windowSize?: number;
  /** Score names tracked per version. Default 8. */
  maxScoreNames?: number;
  /** How often the guard evaluates, milliseconds (an unref'd timer, off the request path). Default 10000. */
  evaluateEveryMs?: number;
  /** The quality rule; `false` turns it off. On by default. */
  quality?: false | QualityRuleOptions;
  /** The error-rate rule; `false` turns it off. On by default. */
  errorRate?: false | ErrorRateRuleOptions;
  /** The p95 latency rule; `false` turns it off. On by default. */
  latency?: false | LatencyRuleOptions;
  /** The cost-per-call rule; `false` turns it off. On by default (halts a rollout, does not roll back unless `rollback: true`). */
  cost?: false | CostRuleOptions;
  /**
   * With Langfuse as the prompt source (`prompts.langfuse`): on a rollback, also move this
   * Langfuse label to the baseline version (`PATCH /api/public/v2/prompts/{name}/versions/{baseline}`
   * with `newLabels`), so every replica that serves the label follows at its next refresh.
   * `true` means `"production"`. A failed call is logged at warn, never thrown. Default off.
   */
  langfuseLabel?: boolean | string;
}

/**
 * A gradual rollout of a candidate version of one prompt (`prompts.rollouts["rag-answer"]`): its
 * share of traffic goes through `steps`, each held at least `minDwellMs` and left only while every
 * rule passes; a rule confirmed failing rolls back like a guard. Every option of
 * {@link GuardOptions} applies.
 */
export interface RolloutOptions extends GuardOptions {
  /** The version rolled out. */
  candidate: string;
  /**
   * Shares of traffic of the candidate, in percent, increasing, each in (0, 100]. After the last
   * step holds, the candidate gets 100% (a last step of 100 is reached as the promotion itself).
   * Default `[5, 25, 50, 100]`.
   */
  steps?: number[];
  /** Shortest time on a step before advancing, milliseconds. Default 600000 (10 min). */
  minDwellMs?: number;
}

/**
 * Fleet guards (`prompts.fleet`): with several replicas, every guard reads the replicas'
 * aggregate from Prometheus's query API instead of this process's windows, so that every replica
 * sees the same numbers and takes the same decision. Each replica exports the guard's counters
 * (`llmscope_prompt_guard_*`) on its metrics endpoint; Prometheus must scrape them all.
 */
export interface GuardFleetOptions {
  /** Prometheus's base URL, such as `http://prometheus:9090`. */
  prometheusUrl: string;
  /** Label matchers added to every query, such as `job="rag-api"` (when other apps report the same prompt names). Default none. */
  selector?: string;
  /** Longest wait for one query, milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Headers sent with each query (`{ authorization: 'Bearer ...' }`). */
  headers?: Record<string, string>;
}

/** Guards and rollouts by prompt name, as they hang under `prompts`. */
export interface PromptGuardsOptions {
  guards?: Record<string, GuardOptions>;
  rollouts?: Record<string, RolloutOptions>;
  /** Read the guards' numbers from Prometheus (the fleet's aggregate) instead of this process. Default: this process. */
  fleet?: GuardFleetOptions;
}

/** Guards, rollouts and their source after validation. */
export interface ResolvedPromptGuards {
  readonly guards: readonly ResolvedGuard[];
  readonly fleet: ResolvedFleet | undefined;
}

/** A rule's thresholds after defaults. */
export interface ResolvedRules {
  readonly quality: { readonly maxDrop: number; readonly scores: readonly string[] | undefined; readonly minSamples: number } | undefined;
  readonly errorRate: { readonly maxIncrease: number; readonly max: number | undefined; readonly minSamples: number } | undefined;
  readonly latency: { readonly maxP95Ratio: number; readonly maxP95Ms: number | undefined; readonly minSamples: number } | undefined;
  readonly cost: { readonly maxRatio: number; readonly rollback: boolean; readonly minSamples: number } | undefined;
}

/** One guard (with or without a rollout) after defaults. */
export interface ResolvedGuard {
  /** The prompt name. */
  readonly prompt: string;
  /** Where the options came from (`prompts.guards["rag-answer"]`), for messages. */
  readonly at: string;
  readonly baseline: string | undefined;
  readonly minSamples: number;
  readonly alpha: number;
  readonly consecutive: number;
  readonly windowMs: number;
  readonly windowSize: number;
  readonly maxScoreNames: number;
  readonly evaluateEveryMs: number;
  readonly rules: ResolvedRules;
  readonly rollout: { readonly candidate: string; readonly steps: readonly number[]; readonly minDwellMs: number } | undefined;
  /** The Langfuse label moved to the baseline on a rollback, or undefined. */
  readonly langfuseLabel: string | undefined;
}

/** Defaults, in one place for the docs and the tests. */
export const GUARD_DEFAULTS = {
  minSamples: 100,
  alpha: 0.01,
  consecutive: 3,
  windowMs: 30 * 60_000,
  windowSize: 2000,
  maxScoreNames: 8,
  evaluateEveryMs: 10_000,
  maxDrop: 0.1,
  maxIncrease: 0.05,
  maxP95Ratio: 1.5,
  maxCostRatio: 1.25,
  steps: [5, 25, 50, 100] as readonly number[],
  minDwellMs: 10 * 60_000,
} as const;

const GUARD_KEYS = ['baseline', 'minSamples', 'alpha', 'consecutive', 'windowMs', 'windowSize', 'maxScoreNames', 'evaluateEveryMs', 'quality', 'errorRate', 'latency', 'cost', 'langfuseLabel'] as const;
const ROLLOUT_KEYS = [...GUARD_KEYS, 'candidate', 'steps', 'minDwellMs'] as const;
const QUALITY_KEYS = ['maxDrop', 'scores', 'minSamples'] as const;
const ERROR_KEYS = ['maxIncrease', 'max', 'minSamples'] as const;
const LATENCY_KEYS = ['maxP95Ratio', 'maxP95Ms', 'minSamples'] as const;
const COST_KEYS = ['maxRatio', 'rollback', 'minSamples'] as const;
const VERSION = 'a version name such as "v3" (a non-empty string)';

function fraction(at: string, value: unknown, example: string): number | undefined {
  return check(at, value, (v): v is number => typeof v === 'number' && v > 0 && v < 1, `a number between 0 and 1 (excluded), such as ${example}`);
}

function ratioAbove1(at: string, value: unknown, example: string): number | undefined {
  return check(at, value, (v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 1, `a number >= 1, such as ${example}`);
}

/** A rule's options: `false` turns it off, absent is on with defaults. */
function rule<K extends string>(at: string, value: unknown, keys: readonly K[]): { [P in K]?: unknown } | undefined {
  if (value === false) return undefined;
  return object(at, value, keys, 'an object or false') ?? {};
}

function resolveRules(at: string, o: { [P in typeof GUARD_KEYS[number]]?: unknown }, minSamples: number): ResolvedRules {
  const q = rule(field(at, 'quality'), o.quality, QUALITY_KEYS);
  const e = rule(field(at, 'errorRate'), o.errorRate, ERROR_KEYS);
  const l = rule(field(at, 'latency'), o.latency, LATENCY_KEYS);
  const c = rule(field(at, 'cost'), o.cost, COST_KEYS);
  const samples = (path: string, v: unknown): number => positiveInt(`${path}.minSamples`, v) ?? minSamples;
  return {
    quality: q === undefined ? undefined : {
      maxDrop: fraction(`${at}.quality.maxDrop`, q.maxDrop, '0.1 for 10%') ?? GUARD_DEFAULTS.maxDrop,
      scores: arrayOf(`${at}.quality.scores`, q.scores, { test: (v): v is string => typeof v === 'string' && v.length > 0, expected: 'a score name (a non-empty string)' }, 'an array of score names such as ["relevance"]'),
      minSamples: samples(`${at}.quality`, q.minSamples),
    },
    errorRate: e === undefined ? undefined : {
      maxIncrease: fraction(`${at}.errorRate.maxIncrease`, e.maxIncrease, '0.05 for 5 points') ?? GUARD_DEFAULTS.maxIncrease,
      max: fraction(`${at}.errorRate.max`, e.max, '0.1 for 10%'),
      minSamples: samples(`${at}.errorRate`, e.minSamples),
    },
    latency: l === undefined ? undefined : {
      maxP95Ratio: ratioAbove1(`${at}.latency.maxP95Ratio`, l.maxP95Ratio, '1.5') ?? GUARD_DEFAULTS.maxP95Ratio,
      maxP95Ms: positiveNumber(`${at}.latency.maxP95Ms`, l.maxP95Ms, 'a positive number of milliseconds such as 8000'),
      minSamples: samples(`${at}.latency`, l.minSamples),
    },
    cost: c === undefined ? undefined : {
      maxRatio: ratioAbove1(`${at}.cost.maxRatio`, c.maxRatio, '1.25') ?? GUARD_DEFAULTS.maxCostRatio,
      rollback: boolean(`${at}.cost.rollback`, c.rollback) ?? false,
      minSamples: samples(`${at}.cost`, c.minSamples),
    },
  };
}

function resolveSteps(at: string, value: unknown): number[] {
  const expected = 'an increasing array of percentages in (0, 100], such as [5, 25, 50, 100]';
  const steps = check(at, value, (s): s is number[] => Array.isArray(s) && s.length > 0 && s.every((x: unknown, i) => typeof x === 'number' && x > 0 && x <= 100 && (i === 0 || x > (s[i - 1] as number))), expected);
  return steps === undefined ? [...GUARD_DEFAULTS.steps] : [...steps];
}

function resolveOne(at: string, prompt: string, value: unknown, isRollout: boolean): ResolvedGuard {
  const what = isRollout ? 'a rollout such as { candidate: "v4", steps: [5, 25, 50, 100] }' : 'a guard such as { minSamples: 100, quality: { maxDrop: 0.1 } }';
  const o = object(at, value, isRollout ? ROLLOUT_KEYS : GUARD_KEYS, what) ?? invalid(at, what, value);
  const minSamples = positiveInt(field(at, 'minSamples'), o.minSamples) ?? GUARD_DEFAULTS.minSamples;
  const baseline = nonEmptyString(field(at, 'baseline'), o.baseline, { expected: VERSION });
  const rules = resolveRules(at, o, minSamples);
  if (rules.quality === undefined && rules.errorRate === undefined && rules.latency === undefined && rules.cost === undefined) {
    configError(`${at} turns every rule off (quality, errorRate, latency, cost): keep at least one, or remove the ${isRollout ? 'rollout' : 'guard'}.`);
  }
  let rollout: ResolvedGuard['rollout'];
  if (isRollout) {
    const r = o as { candidate?: unknown; steps?: unknown; minDwellMs?: unknown };
    const candidate = nonEmptyString(field(at, 'candidate'), r.candidate, { expected: VERSION }) ?? required(field(at, 'candidate'), `the version to roll out, ${VERSION}`);
    if (candidate === baseline) configError(`option \`${field(at, 'candidate')}\` and \`${field(at, 'baseline')}\` are both ${JSON.stringify(candidate)}: the candidate must be another version than the baseline.`);
    rollout = {
      candidate,
      steps: resolveSteps(field(at, 'steps'), r.steps),
      minDwellMs: check(field(at, 'minDwellMs'), r.minDwellMs, (v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0, 'a number of milliseconds >= 0 such as 600000') ?? GUARD_DEFAULTS.minDwellMs,
    };
  }
  const label = check(field(at, 'langfuseLabel'), o.langfuseLabel, (v): v is boolean | string => typeof v === 'boolean' || (typeof v === 'string' && v.length > 0 && v !== 'latest'), 'true (the "production" label), false, or a Langfuse label name other than "latest"');
  return {
    prompt, at, baseline, minSamples, rules, rollout,
    langfuseLabel: label === true ? 'production' : typeof label === 'string' ? label : undefined,
    alpha: numberInRange(field(at, 'alpha'), o.alpha, 0.0001, 0.5, 'a significance level between 0.0001 and 0.5, such as 0.05') ?? GUARD_DEFAULTS.alpha,
    consecutive: positiveInt(field(at, 'consecutive'), o.consecutive) ?? GUARD_DEFAULTS.consecutive,
    windowMs: positiveInt(field(at, 'windowMs'), o.windowMs, 'a positive whole number of milliseconds such as 1800000') ?? GUARD_DEFAULTS.windowMs,
    windowSize: check(field(at, 'windowSize'), o.windowSize, (v): v is number => Number.isInteger(v) && (v as number) >= 10 && (v as number) <= 100_000, 'a whole number from 10 to 100000') ?? GUARD_DEFAULTS.windowSize,
    maxScoreNames: check(field(at, 'maxScoreNames'), o.maxScoreNames, (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 64, 'a whole number from 1 to 64') ?? GUARD_DEFAULTS.maxScoreNames,
    evaluateEveryMs: check(field(at, 'evaluateEveryMs'), o.evaluateEveryMs, (v): v is number => Number.isInteger(v) && (v as number) >= 100, 'a whole number of milliseconds >= 100 such as 10000') ?? GUARD_DEFAULTS.evaluateEveryMs,
  };
}

const FLEET_KEYS = ['prometheusUrl', 'selector', 'timeoutMs', 'headers'] as const;
/** Label matchers: `name="value"`, `name=~"re"`, `!=`, `!~`, separated by commas. */
const MATCHERS = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*(,\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*)*$/;

function resolveFleet(at: string, value: unknown): ResolvedFleet | undefined {
  const o = object(at, value, FLEET_KEYS, 'an object such as { prometheusUrl: "http://prometheus:9090" }');
  if (o === undefined) return undefined;
  const url = httpUrl(`${at}.prometheusUrl`, o.prometheusUrl, 'http://prometheus:9090') ?? required(`${at}.prometheusUrl`, "Prometheus's base URL such as http://prometheus:9090");
  const headers = record(`${at}.headers`, o.headers, 'an object of header names to strings') ?? {};
  for (const [name, v] of Object.entries(headers)) if (typeof v !== 'string') invalid(entry(`${at}.headers`, name), 'a string', v);
  return {
    prometheusUrl: url.replace(/\/+$/, ''),
    selector: check(`${at}.selector`, o.selector, (v): v is string => typeof v === 'string' && MATCHERS.test(v), 'PromQL label matchers such as job="rag-api" or job="rag-api",env=~"prod|canary"')?.trim() ?? '',
    timeoutMs: positiveInt(`${at}.timeoutMs`, o.timeoutMs, 'a positive whole number of milliseconds such as 5000') ?? 5000,
    headers: headers as Record<string, string>,
  };
}

/**
 * Validates `prompts.guards`, `prompts.rollouts` and `prompts.fleet` (`at` is the path of their
 * parent, `prompts`) and returns one resolved guard per prompt and the fleet source. A prompt may
 * have a guard or a rollout, not both (a rollout guards itself). Throws an
 * {@link LlmscopeConfigError} naming the option otherwise.
 */
export function resolvePromptGuards(at: string, value: PromptGuardsOptions | undefined): ResolvedPromptGuards {
  if (value === undefined) return { guards: [], fleet: undefined };
  const guardsAt = field(at, 'guards');
  const rolloutsAt = field(at, 'rollouts');
  const guards = record(guardsAt, value.guards, 'an object of guards by prompt name, such as { "rag-answer": { minSamples: 100 } }') ?? {};
  const rollouts = record(rolloutsAt, value.rollouts, 'an object of rollouts by prompt name, such as { "rag-answer": { candidate: "v4" } }') ?? {};
  const out: ResolvedGuard[] = [];
  for (const [prompt, g] of Object.entries(guards)) {
    if (prompt.length === 0) configError(`option \`${guardsAt}\` has an empty prompt name.`);
    if (prompt in rollouts) configError(`prompt ${JSON.stringify(prompt)} has both \`${entry(guardsAt, prompt)}\` and \`${entry(rolloutsAt, prompt)}\`: a rollout guards its own prompt, so move the guard's rules into the rollout and remove the guard.`);
    out.push(resolveOne(entry(guardsAt, prompt), prompt, g, false));
  }
  for (const [prompt, r] of Object.entries(rollouts)) {
    if (prompt.length === 0) configError(`option \`${rolloutsAt}\` has an empty prompt name.`);
    out.push(resolveOne(entry(rolloutsAt, prompt), prompt, r, true));
  }
  return { guards: out, fleet: resolveFleet(field(at, 'fleet'), value.fleet) };
}
