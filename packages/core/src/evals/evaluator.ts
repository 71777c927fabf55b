import type { RetrievedDocument } from '../context/context';
import type { LlmCallRecord } from '../genai/record';

export type { RetrievedDocument } from '../context/context';

/** One message of the evaluated call's prompt, as text. */
export interface EvaluatedMessage {
  readonly role: string;
  readonly text: string;
}

/**
 * What an {@link Evaluator} is given: the finished LLM call and, when `llm.captureContent` is on,
 * its prompt, its answer and the documents the request's retrieval steps returned.
 */
export interface EvaluatorInput {
  /** The finished LLM call (its trace and span ids, model, prompt version, feature, usage, cost...). */
  readonly record: LlmCallRecord;
  /** The prompt's messages (empty when content capture is off). */
  readonly messages: readonly EvaluatedMessage[];
  /** Text of the last user message (the question), when captured. */
  readonly question: string | undefined;
  /** The answer's text, when captured. */
  readonly answer: string | undefined;
  /** Documents of the request's retrieval steps before the call (empty when not captured). */
  readonly documents: readonly RetrievedDocument[];
  /** Aborted when the evaluator's `timeoutMs` passes: pass it to `fetch` or the LLM SDK. */
  readonly signal: AbortSignal;
}

/** One result of an evaluator: a score and/or a failure mode. */
export interface EvaluatorResult {
  /** Score name. Default: the evaluator's name. */
  name?: string;
  /**
   * A number (0–1 reaches `llmscope_quality_score`), a boolean or a label. May be left out when a
   * `failureMode` is given: the failure mode is then recorded as a categorical score.
   */
  value?: number | boolean | string;
  /** Why (a judge's reason); clipped and redacted like any score comment. */
  comment?: string;
  /**
   * What went wrong, from `evaluations.failureModes` (`hallucination`, `off_topic`, `format_error`,
   * `refusal`, `unsafe` by default): counted in `llmscope_quality_failures_total`; an undeclared
   * label counts as `other`.
   */
  failureMode?: string;
}

/** What `evaluate` returns: one result, several, or none (nothing to judge here). */
export type EvaluatorOutput = EvaluatorResult | readonly EvaluatorResult[] | undefined;

/**
 * A check run on sampled LLM calls after they end, off the response path (`evaluations.evaluators`).
 * A plain object: write your own, or use `judgeEvaluator()`, `schemaEvaluator()`,
 * `citationEvaluator()`, `lengthEvaluator()`, `refusalEvaluator()`.
 *
 * @example
 * const mentionsPrice: Evaluator = {
 *   name: 'mentions-price',
 *   evaluate: ({ answer }) => ({ value: /\$\d/.test(answer ?? '') }),
 * };
 */
export interface Evaluator {
  /** Evaluator name: the `evaluator` label and the default score name. 1–64 characters, unique. */
  name: string;
  /** Scores one call. May be async; it may throw (counted as `error`), it never reaches the app. */
  evaluate(input: EvaluatorInput): EvaluatorOutput | Promise<EvaluatorOutput>;
  /** Share of the eligible calls evaluated, 0–1, decided per call from its span id (stable). Default 1. */
  sampleRate?: number;
  /** Longest run in milliseconds; then the run counts as `timeout` and `signal` aborts. Default `evaluations.timeoutMs`. */
  timeoutMs?: number;
  /**
   * Which calls to evaluate, on top of the default (successful calls other than embeddings). Runs
   * when the call ends, on the request's path: keep it cheap.
   */
  when?: (record: LlmCallRecord) => boolean;
  /** Source of its scores. Default `code`; `judgeEvaluator()` says `judge`. */
  source?: 'code' | 'judge';
}

/** Marks the evaluators that read the prompt or answer, so that llmscope warns when content capture is off. */
const NEEDS_CONTENT = Symbol.for('llmscope.evaluator.needsContent');

/** Marks `evaluator` as reading the call's content (the built-in evaluators and judges do). */
export function readsContent<E extends Evaluator>(evaluator: E): E {
  Object.defineProperty(evaluator, NEEDS_CONTENT, { value: true });
  return evaluator;
}

/** Whether `evaluator` was marked by {@link readsContent}. */
export function needsContent(evaluator: unknown): boolean {
  return (evaluator as Record<symbol, unknown> | null)?.[NEEDS_CONTENT] === true;
}

/**
 * Thrown (or rejected) by an evaluator whose own input was unusable, e.g. a judge's verdict that
 * cannot be parsed: counted as `invalid_output`, not `error`.
 */
export class InvalidEvaluatorOutput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEvaluatorOutput';
  }
}

/** Text of a GenAI message list (`gen_ai.input.messages` / `.output.messages` JSON), one entry per message. */
export function messagesOf(json: string | undefined): EvaluatedMessage[] {
  if (json === undefined) return [];
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const out: EvaluatedMessage[] = [];
  for (const m of list as unknown[]) {
    if (m === null || typeof m !== 'object') continue;
    const { role, parts } = m as { role?: unknown; parts?: unknown };
    const texts: string[] = [];
    if (Array.isArray(parts)) {
      for (const p of parts as unknown[]) {
        const content = (p as { content?: unknown } | null)?.content;
        if (typeof content === 'string') texts.push(content);
      }
    }
    out.push({ role: typeof role === 'string' ? role : 'user', text: texts.join('\n') });
  }
  return out;
}
