import type { Registry } from 'prom-client';
import type { RequestContext } from '../context/context';
import type { LlmCallRecord } from '../genai/record';
import { QualityMetrics } from './metrics';
import type { ResolvedEvaluations } from './options';
import { RecentTraces, type TraceFacts } from './recent-traces';
import type { ScoreInput, ScoreRecord, ScoreSink, ScoreSource, ScoreTarget } from './score';

const SOURCES: readonly ScoreSource[] = ['human', 'judge', 'code'];
const TARGETS: readonly ScoreTarget[] = ['call', 'trace', 'session'];
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const MAX_NAME = 64;
const MAX_CATEGORY = 64;

/**
 * What is wrong with a score, or undefined when it is valid: the message the feedback route
 * answers 400 with, and the warning `score()` gives the developer.
 */
export function scoreProblem(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object') return 'a score must be an object such as { name: "relevance", value: 0.8 }';
  const s = input as Partial<Record<keyof ScoreInput, unknown>>;
  if (typeof s.name !== 'string' || s.name.length === 0 || s.name.length > MAX_NAME) return `\`name\` must be a string of 1 to ${MAX_NAME} characters`;
  const v = s.value;
  if (!((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || (typeof v === 'string' && v.length > 0 && v.length <= MAX_CATEGORY))) {
    return `\`value\` must be a finite number, a boolean or a label of 1 to ${MAX_CATEGORY} characters`;
  }
  if (s.comment !== undefined && typeof s.comment !== 'string') return '`comment` must be a string';
  if (s.source !== undefined && !SOURCES.includes(s.source as ScoreSource)) return `\`source\` must be one of ${SOURCES.join(', ')}`;
  if (s.evaluator !== undefined && (typeof s.evaluator !== 'string' || s.evaluator.length === 0 || s.evaluator.length > MAX_NAME)) return `\`evaluator\` must be a string of 1 to ${MAX_NAME} characters`;
  if (s.target !== undefined && !TARGETS.includes(s.target as ScoreTarget)) return `\`target\` must be one of ${TARGETS.join(', ')}`;
  if (s.traceId !== undefined && (typeof s.traceId !== 'string' || !TRACE_ID.test(s.traceId))) return '`traceId` must be 32 lower-case hex characters (the x-trace-id header)';
  if (s.spanId !== undefined && (typeof s.spanId !== 'string' || !SPAN_ID.test(s.spanId))) return '`spanId` must be 16 lower-case hex characters';
  return undefined;
}

/** What the current code runs in, when a score is given. */
export interface ScoreScene {
  ctx: RequestContext | undefined;
  /** The LLM call the code runs in (`traceLLM`'s function), if any. */
  call: { traceId: string | undefined; spanId: string | undefined } | undefined;
  /** Facts of the scored trace when the caller knows them (an evaluator has the call's record), else the index is asked. */
  facts?: TraceFacts;
}

/**
 * Scores of one llmscope instance: resolves each score against its trace (the current request,
 * else the recent-trace index) and hands it to the sinks: quality metrics, the trace, the log
 * line, Langfuse, the app's own ({@link addSink}).
 */
export class Scores {
  readonly recent: RecentTraces;
  private sinks: ScoreSink[] = [];
  private warned = false;

  constructor(registry: Registry | undefined, private readonly options: ResolvedEvaluations) {
    this.recent = new RecentTraces(options.recentTraces);
    if (registry !== undefined) this.sinks.push(new QualityMetrics(registry).record);
  }

  /** Adds a consumer of scores; returns a function that removes it. */
  addSink(sink: ScoreSink): () => void {
    this.sinks = [...this.sinks, sink];
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  /** An LLM-call sink: remembers recent traces for late scores. */
  get llmCallSink(): (record: LlmCallRecord) => void {
    return this.recent.remember;
  }

  /**
   * Records one score. Invalid input is not thrown into the app: it is reported once as a
   * process warning (`LlmscopeWarning`) and the score is dropped; the return value says why.
   */
  record(input: ScoreInput, scene: ScoreScene): ScoreRecord | string {
    const problem = scoreProblem(input);
    if (problem !== undefined) {
      if (!this.warned) {
        this.warned = true;
        process.emitWarning(`llmscope: score() ignored a score: ${problem}.`, 'LlmscopeWarning');
      }
      return problem;
    }
    const record = this.resolve(input, scene);
    for (const sink of this.sinks) {
      try {
        sink(record);
      } catch {
        // One broken consumer must not cost the others their score.
      }
    }
    return record;
  }

  private resolve(input: ScoreInput, { ctx, call, facts: known }: ScoreScene): ScoreRecord {
    const v = input.value;
    const dataType = typeof v === 'number' ? 'NUMERIC' : typeof v === 'boolean' ? 'BOOLEAN' : 'CATEGORICAL';
    const requestTrace = ctx?.span?.spanContext();
    const traceId = input.traceId ?? call?.traceId ?? requestTrace?.traceId;
    // Facts of the trace: the current request's when it is that trace, else the index's.
    const here = ctx !== undefined && (input.traceId === undefined || input.traceId === requestTrace?.traceId);
    const facts = here ? undefined : known ?? (traceId === undefined ? undefined : this.recent.get(traceId));
    const target = input.target ?? (input.spanId !== undefined || call !== undefined ? 'call' : 'trace');
    let spanId = input.spanId;
    if (spanId === undefined) {
      if (target === 'call') spanId = call?.spanId ?? (here ? ctx?.lastCallSpanId : facts?.lastCallSpanId);
      if (spanId === undefined) spanId = here ? requestTrace?.spanId : facts?.requestSpanId;
    }
    const comment = input.comment === undefined ? undefined
      : input.comment.length > this.options.maxCommentLength ? input.comment.slice(0, this.options.maxCommentLength) : input.comment;
    return {
      name: input.name,
      value: v,
      dataType,
      numericValue: typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : undefined,
      comment,
      source: input.source ?? 'code',
      evaluator: input.evaluator ?? input.name,
      target,
      traceId,
      spanId,
      sessionId: here ? ctx?.sessionId : facts?.sessionId,
      userId: here ? ctx?.userId : facts?.userId,
      feature: here ? ctx?.feature : facts?.feature,
      promptName: here ? ctx?.promptName : facts?.promptName,
      promptVersion: here ? ctx?.promptVersion : facts?.promptVersion,
      timestampMs: Date.now(),
    };
  }
}
