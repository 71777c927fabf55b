import { currentOwner, type ContextOwner } from '../context/context';
import type { ScoreInput, ScoreRecord } from './score';

/** What `score()` needs from the llmscope instance owning the current request (`Llmscope`). */
export interface ScoreOwner extends ContextOwner {
  score(input: ScoreInput): ScoreRecord | string;
}

/**
 * Records a score: for the current LLM call (inside `traceLLM`'s function), else the current
 * trace, or for a given `traceId` after the request (user feedback minutes later; the trace's
 * prompt version, feature and session come from the recent-trace index). The score reaches the
 * quality metrics, the trace (a `gen_ai.evaluation.result` event), the log line and Langfuse.
 *
 * Never throws: an invalid score is dropped and reported once as a process warning. Returns the
 * recorded score, or the reason it was dropped (a string).
 *
 * @example
 * score({ name: 'citation_accuracy', value: cited.every((id) => retrieved.has(id)) });
 * score({ name: 'user_feedback', value: 0, source: 'human', traceId, comment: 'wrong product' });
 */
export function score(input: ScoreInput): ScoreRecord | string {
  const owner = currentOwner() as ScoreOwner | undefined;
  return owner === undefined ? 'no llmscope instance exists yet' : owner.score(input);
}
