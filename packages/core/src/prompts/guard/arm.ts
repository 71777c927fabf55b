import { quantileSorted, type Moments } from './stats';
import { RollingWindow } from './window';

/** Columns of an arm's call window. */
const SECONDS = 0;
const ERROR = 1;
const COST = 2;

/** Bounds of the rolling windows of one arm (a prompt version). */
export interface WindowBounds {
  /** Samples kept per window (calls, and each score name). */
  readonly maxSamples: number;
  /** Age past which a sample leaves the window, milliseconds. */
  readonly maxAgeMs: number;
  /** Score names tracked per arm; later names are ignored. */
  readonly maxScoreNames: number;
}

/** One score name's window and its kind (boolean while every value so far was a boolean). */
interface ScoreWindow {
  readonly window: RollingWindow;
  boolean: boolean;
}

/** What the rules see of one score name in one arm. */
export interface ScoreSummary {
  readonly kind: 'numeric' | 'boolean';
  readonly moments: Moments;
  /** Scores equal to 1 (true), for booleans. */
  readonly successes: number;
}

/** Durations of an arm's successful calls (failed calls have the error rule), seconds. */
export interface LatencySummary {
  /** Successful calls. */
  readonly n: number;
  /** The `q` quantile (0–1); NaN without calls. */
  quantile(q: number): number;
  /** Calls slower than `seconds` (from a histogram: slower than the first bucket edge at or above it, so never over-counted). */
  above(seconds: number): number;
}

/**
 * What the rules see of one arm at one evaluation: from this process's windows, or from the
 * fleet's counters in Prometheus.
 */
export interface ArmSnapshot {
  readonly version: string;
  /** LLM calls in the window. */
  readonly calls: number;
  readonly errors: number;
  readonly latency: LatencySummary;
  /** Cost per call over the priced calls, USD. */
  readonly cost: Moments;
  readonly scores: ReadonlyMap<string, ScoreSummary>;
  /**
   * Changes whenever the arm gets new samples (calls or scores): a failing evaluation counts
   * toward `consecutive` only when the candidate's token moved since the last one.
   */
  readonly token: number;
}

/** A latency summary over raw durations (sorted once, here). */
export function sampleLatency(values: Float64Array): LatencySummary {
  values.sort();
  return {
    n: values.length,
    quantile: (q) => quantileSorted(values, q),
    above: (seconds) => {
      let k = 0;
      for (let i = values.length - 1; i >= 0 && (values[i] as number) > seconds; i--) k++;
      return k;
    },
  };
}

/** An empty arm (a version with no sample yet). */
export function emptySnapshot(version: string): ArmSnapshot {
  return { version, calls: 0, errors: 0, latency: sampleLatency(new Float64Array(0)), cost: { n: 0, mean: NaN, variance: 0 }, scores: new Map(), token: 0 };
}

/**
 * The rolling windows of one prompt version: its LLM calls (duration, error, cost) and its
 * quality scores by name. Appending is a few array writes; everything else is done when a guard
 * evaluates, on its timer.
 */
export class ArmWindows {
  private readonly calls: RollingWindow;
  private readonly scores = new Map<string, ScoreWindow>();
  /** Samples ever appended (calls and scores): an evaluation counts only when it has new ones. */
  appended = 0;

  constructor(readonly version: string, private readonly bounds: WindowBounds) {
    this.calls = new RollingWindow(3, bounds.maxSamples, bounds.maxAgeMs);
  }

  /** One LLM call of this version. `costUsd` NaN when the call has no price. */
  addCall(nowMs: number, seconds: number, failed: boolean, costUsd: number): void {
    this.calls.prune(nowMs);
    this.calls.push(nowMs, seconds, failed ? 1 : 0, costUsd);
    this.appended++;
  }

  /** One numeric (0–1) or boolean (1/0) score of this version. */
  addScore(nowMs: number, name: string, value: number, isBoolean: boolean): void {
    let s = this.scores.get(name);
    if (s === undefined) {
      if (this.scores.size >= this.bounds.maxScoreNames) return;
      s = { window: new RollingWindow(1, this.bounds.maxSamples, this.bounds.maxAgeMs), boolean: true };
      this.scores.set(name, s);
    }
    if (!isBoolean) s.boolean = false;
    s.window.prune(nowMs);
    s.window.push(nowMs, value);
    this.appended++;
  }

  /** The window's content at `nowMs` (older samples dropped first). */
  snapshot(nowMs: number): ArmSnapshot {
    const calls = this.calls;
    calls.prune(nowMs);
    let errors = 0;
    calls.forEach(ERROR, (e) => { errors += e; });
    const ok = (i: number): boolean => calls.at(ERROR, i) === 0;
    const scores = new Map<string, ScoreSummary>();
    for (const [name, s] of this.scores) {
      s.window.prune(nowMs);
      let successes = 0;
      s.window.forEach(0, (v) => { if (v === 1) successes++; });
      scores.set(name, { kind: s.boolean ? 'boolean' : 'numeric', moments: s.window.moments(0), successes });
    }
    return { version: this.version, calls: calls.size, errors, latency: sampleLatency(calls.values(SECONDS, ok)), cost: calls.moments(COST), scores, token: this.appended };
  }
}
