import { arrayOf, check, configError, func, invalid, object, oneOf, positiveInt, ratio, required, section } from '../config/validate';
import type { LlmCallRecord } from '../genai/record';
import { needsContent, type Evaluator } from './evaluator';

/** The failure modes declared by default (`evaluations.failureModes`). */
export const DEFAULT_FAILURE_MODES: readonly string[] = ['hallucination', 'off_topic', 'format_error', 'refusal', 'unsafe'];

/** Bounds of the evaluator queue (`evaluations.queue`). */
export interface EvaluationQueueOptions {
  /** Evaluations waiting at most; more are dropped and counted (`outcome="dropped"`). Default 1000. */
  maxItems?: number;
  /** Evaluations running at once. Default 4. */
  concurrency?: number;
}

/** The human feedback route (`evaluations.feedback`), off by default. */
export interface FeedbackOptions {
  /** Path of the route (`POST`). Default `/llmscope/feedback`. */
  path?: string;
  /**
   * Decides whether a request may post feedback (it receives the framework's request: check a
   * session cookie or a token). Answered 403 when it returns false or throws. Without it, anyone
   * who can reach the app can score any trace: llmscope warns in production.
   */
  authorize?: (request: unknown) => boolean | Promise<boolean>;
  /** Largest body accepted, bytes. Default 4096. */
  maxBodyBytes?: number;
  /** Posts per client address per minute (then 429 with `Retry-After`). Default 60. */
  ratePerMinute?: number;
}

/** Scores and evaluations (`evaluations`). */
export interface EvaluationsOptions {
  /**
   * `POST /llmscope/feedback` taking `{ traceId, spanId?, name, value, comment? }` (a human score),
   * mounted by every adapter. Off by default; `true` turns it on with the defaults.
   */
  feedback?: boolean | FeedbackOptions;
  /**
   * How many recent traces are remembered so that a score given later by trace id (user
   * feedback) keeps the trace's prompt version, feature and session. Default 10000; 0 turns it off.
   */
  recentTraces?: number;
  /** Longest score comment kept, characters. Default 1000. */
  maxCommentLength?: number;
  /**
   * Evaluators run on sampled LLM calls after they end, off the response path, in a bounded queue
   * (judges, built-in checks, your functions). Default none (then nothing runs per call).
   */
  evaluators?: Evaluator[];
  /** Default longest run of an evaluator, milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Bounds of the evaluator queue. */
  queue?: EvaluationQueueOptions;
  /**
   * The failure modes evaluators may report (the `failure_mode` label of
   * `llmscope_quality_failures_total`; others count as `other`). Default
   * `['hallucination', 'off_topic', 'format_error', 'refusal', 'unsafe']`.
   */
  failureModes?: string[];
  /**
   * Most retrieved documents kept per request for evaluators (with `llm.captureContent` on and an
   * evaluator configured). Default 20.
   */
  maxDocuments?: number;
}

/** An evaluator after defaults. */
export interface ResolvedEvaluator {
  readonly name: string;
  readonly evaluate: Evaluator['evaluate'];
  readonly sampleRate: number;
  readonly timeoutMs: number;
  readonly when: ((record: LlmCallRecord) => boolean) | undefined;
  readonly source: 'code' | 'judge';
  /** A built-in evaluator or judge that reads the prompt or answer (needs `llm.captureContent`). */
  readonly needsContent: boolean;
}

export interface ResolvedFeedback {
  path: string;
  authorize: ((request: unknown) => boolean | Promise<boolean>) | undefined;
  maxBodyBytes: number;
  ratePerMinute: number;
}

export interface ResolvedEvaluations {
  feedback: ResolvedFeedback | undefined;
  recentTraces: number;
  maxCommentLength: number;
  evaluators: ResolvedEvaluator[];
  timeoutMs: number;
  queue: { maxItems: number; concurrency: number };
  failureModes: string[];
  maxDocuments: number;
}

const FEEDBACK_KEYS = ['path', 'authorize', 'maxBodyBytes', 'ratePerMinute'] as const;
const KEYS = ['feedback', 'recentTraces', 'maxCommentLength', 'evaluators', 'timeoutMs', 'queue', 'failureModes', 'maxDocuments'] as const;
const EVALUATOR_KEYS = ['name', 'evaluate', 'sampleRate', 'timeoutMs', 'when', 'source'] as const;
const QUEUE_KEYS = ['maxItems', 'concurrency'] as const;
const NAME = 'a string of 1 to 64 characters';
const MODE = 'a label of 1 to 64 characters';
const EVALUATOR = 'an evaluator such as { name: "citations", evaluate: (input) => ({ value: 1 }) }';
const SIGNATURE = '(input) => result | Promise<result>';

function wholeNumber(at: string, value: unknown): number | undefined {
  return check(at, value, (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0, 'a whole number >= 0');
}

function shortString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 64;
}

function resolveEvaluator(at: string, value: unknown, defaultTimeoutMs: number): ResolvedEvaluator {
  const o = object(at, value, EVALUATOR_KEYS, EVALUATOR) ?? invalid(at, EVALUATOR, value);
  return {
    name: check(`${at}.name`, o.name, shortString, NAME) ?? required(`${at}.name`, NAME),
    evaluate: func<Evaluator['evaluate']>(`${at}.evaluate`, o.evaluate, SIGNATURE) ?? required(`${at}.evaluate`, `a function ${SIGNATURE}`),
    sampleRate: ratio(`${at}.sampleRate`, o.sampleRate) ?? 1,
    timeoutMs: positiveInt(`${at}.timeoutMs`, o.timeoutMs, 'a positive integer (milliseconds)') ?? defaultTimeoutMs,
    when: func<(record: LlmCallRecord) => boolean>(`${at}.when`, o.when, '(record) => boolean'),
    source: oneOf(`${at}.source`, o.source, ['code', 'judge'] as const) ?? 'code',
    needsContent: needsContent(value),
  };
}

function resolveFeedback(value: unknown): ResolvedFeedback | undefined {
  if (value === undefined || value === false) return undefined;
  const o = section('evaluations.feedback', value === true ? {} : value, FEEDBACK_KEYS, 'true, false or an object such as { authorize: (req) => Boolean(req.user) }') ?? {};
  const path = check('evaluations.feedback.path', o.path, (v): v is string => typeof v === 'string' && v.startsWith('/') && !v.includes('?'), 'a path starting with / such as "/llmscope/feedback"') ?? '/llmscope/feedback';
  return {
    path,
    authorize: func<(request: unknown) => boolean | Promise<boolean>>('evaluations.feedback.authorize', o.authorize, '(request) => boolean | Promise<boolean>'),
    maxBodyBytes: positiveInt('evaluations.feedback.maxBodyBytes', o.maxBodyBytes, 'a positive integer (bytes)') ?? 4096,
    ratePerMinute: positiveInt('evaluations.feedback.ratePerMinute', o.ratePerMinute) ?? 60,
  };
}

/**
 * Validates a list of evaluators found at option path `at` (`evaluations.evaluators`, or the
 * `evaluators` of one `traceLLM`/`@TraceLLM`): each evaluator's shape, names unique.
 */
export function resolveEvaluatorList(at: string, value: unknown, defaultTimeoutMs = 30_000): ResolvedEvaluator[] {
  const list = check(at, value, (v): v is unknown[] => Array.isArray(v), 'an array of evaluators') ?? [];
  const evaluators = list.map((e, i) => resolveEvaluator(`${at}[${i}]`, e, defaultTimeoutMs));
  const seen = new Set<string>();
  evaluators.forEach((e, i) => {
    if (seen.has(e.name)) configError(`option \`${at}[${i}].name\` must be unique, got ${JSON.stringify(e.name)} twice.`);
    seen.add(e.name);
  });
  return evaluators;
}

/** Validates the `evaluations` option. */
export function resolveEvaluations(value: unknown): ResolvedEvaluations {
  const o = object('evaluations', value, KEYS) ?? {};
  const timeoutMs = positiveInt('evaluations.timeoutMs', o.timeoutMs, 'a positive integer (milliseconds)') ?? 30_000;
  const evaluators = resolveEvaluatorList('evaluations.evaluators', o.evaluators, timeoutMs);
  const queue = object('evaluations.queue', o.queue, QUEUE_KEYS) ?? {};
  const modes = arrayOf('evaluations.failureModes', o.failureModes, { test: shortString, expected: MODE }, 'an array of labels') ?? DEFAULT_FAILURE_MODES;
  return {
    feedback: resolveFeedback(o.feedback),
    recentTraces: wholeNumber('evaluations.recentTraces', o.recentTraces) ?? 10_000,
    maxCommentLength: wholeNumber('evaluations.maxCommentLength', o.maxCommentLength) ?? 1000,
    evaluators,
    timeoutMs,
    queue: {
      maxItems: positiveInt('evaluations.queue.maxItems', queue.maxItems) ?? 1000,
      concurrency: positiveInt('evaluations.queue.concurrency', queue.concurrency) ?? 4,
    },
    // Bounded by the option's length; `other` is always there for undeclared labels.
    failureModes: [...new Set(modes)].slice(0, 50),
    maxDocuments: wholeNumber('evaluations.maxDocuments', o.maxDocuments) ?? 20,
  };
}
