import { check, object } from '../config/validate';

/** Scores and evaluations (`evaluations`). */
export interface EvaluationsOptions {
  /**
   * How many recent traces are remembered so that a score given later by trace id (user
   * feedback) keeps the trace's prompt version, feature and session. Default 10000; 0 turns it off.
   */
  recentTraces?: number;
  /** Longest score comment kept, characters. Default 1000. */
  maxCommentLength?: number;
}

export interface ResolvedEvaluations {
  recentTraces: number;
  maxCommentLength: number;
}

const KEYS = ['recentTraces', 'maxCommentLength'] as const;

function wholeNumber(at: string, value: unknown): number | undefined {
  return check(at, value, (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0, 'a whole number >= 0');
}

/** Validates the `evaluations` option. */
export function resolveEvaluations(value: unknown): ResolvedEvaluations {
  const o = object('evaluations', value, KEYS) ?? {};
  return {
    recentTraces: wholeNumber('evaluations.recentTraces', o.recentTraces) ?? 10_000,
    maxCommentLength: wholeNumber('evaluations.maxCommentLength', o.maxCommentLength) ?? 1000,
  };
}
