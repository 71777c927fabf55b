import { currentOwner, type ContextOwner, type RequestContext } from '../context/context';
import type { Evaluator } from '../evals/evaluator';
import type { LlmCallRecord } from './record';
import type { LlmRuntime } from './runtime';

/** A failed `validateOutput`, as reported to logs and Sentry. */
export interface ValidationFailure {
  /** Name of the output or schema (`answer`, `ExtractionSchema`). */
  name: string | undefined;
  issues: { message: string; path?: string }[];
  raw: unknown;
}

/** What genai/ needs from the llmscope instance owning a request (`Llmscope` implements it). */
export interface GenAiOwner extends ContextOwner {
  /** The instance's LLM side: price book, options, sinks, helpers. */
  readonly genai: LlmRuntime;
  /** Reports a failed `validateOutput` to the logs and Sentry. */
  reportValidationFailure(failure: ValidationFailure, ctx: RequestContext | undefined): void;
  /** Runs `evaluators` (given to one call with `traceLLM({ evaluators })`) on its record, off the response path. */
  evaluateCall(record: LlmCallRecord, evaluators: readonly Evaluator[]): void;
}

/**
 * The instance owning the current request (else the latest one created), as genai/ sees it.
 * Every context owner is an `Llmscope`, which implements {@link GenAiOwner}; context/ only
 * declares the narrower interface so that it depends on nothing.
 */
export function currentGenAiOwner(): GenAiOwner | undefined {
  return currentOwner() as GenAiOwner | undefined;
}
