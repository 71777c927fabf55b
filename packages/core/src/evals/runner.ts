import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import type { Counter, Gauge, Registry } from 'prom-client';
import { bindContext, getContext, RequestContext, runInContext, type ContextLimits, type ContextOwner, type RetrievedDocument } from '../context/context';
import { settleWithin } from '../context/settle';
import { LabelCap } from '../genai/labels';
import type { LlmCallRecord } from '../genai/record';
import { LLMSCOPE } from '../genai/schema';
import { counter, gauge } from '../http/prom';
import { getTracer } from '../tracing/provider';
import { InvalidEvaluatorOutput, messagesOf, type EvaluatorInput, type EvaluatorOutput, type EvaluatorResult } from './evaluator';
import type { ResolvedEvaluations, ResolvedEvaluator } from './options';
import type { TraceFacts } from './recent-traces';
import type { ScoreInput } from './score';
import { scoreProblem, type Scores } from './scores';

/**
 * The feature every evaluator runs under: a judge's own LLM calls are recorded, traced and priced
 * as `feature="llmscope.judge"`, apart from the app's features, and are never evaluated themselves.
 */
export const JUDGE_FEATURE = 'llmscope.judge';

/** How one evaluation ended (`outcome` of `llmscope_evaluations_total`). */
export type EvaluationOutcome = 'ok' | 'error' | 'timeout' | 'dropped' | 'invalid_output';

/** The failure mode label of anything an evaluator reports outside `evaluations.failureModes`. */
export const OTHER_FAILURE_MODE = 'other';

/** Most results one evaluation may return; the rest are ignored (and the run is `invalid_output`). */
const MAX_RESULTS = 20;
const NO_DOCUMENTS: readonly RetrievedDocument[] = [];

interface Job {
  readonly evaluator: ResolvedEvaluator;
  readonly record: LlmCallRecord;
  readonly documents: readonly RetrievedDocument[];
}

type Settled = { ok: true; output: EvaluatorOutput } | { ok: false; error: unknown };

/** What the runner needs of its llmscope instance. */
export interface RunnerScene {
  /** Owner of the contexts evaluators run in (so that a judge's calls reach this instance). */
  owner: ContextOwner;
  limits: ContextLimits;
  tracingOn: boolean;
  registry: Registry | undefined;
  scores: Scores;
  /** `llm.captureContent`: without it, evaluators that read the answer never run (warned once). */
  captureContent: boolean;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Whether `evaluator` samples `record`: decided from the span id, so every replica and retry agrees. */
function sampled(evaluator: ResolvedEvaluator, record: LlmCallRecord): boolean {
  const rate = evaluator.sampleRate;
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const id = record.spanId ?? record.responseId;
  return (id === undefined ? Math.random() : fnv1a(`${evaluator.name}:${id}`) / 0x1_0000_0000) < rate;
}

function factsOf(r: LlmCallRecord): TraceFacts {
  return {
    sessionId: r.sessionId, userId: r.userId, feature: r.feature, promptName: r.promptName,
    promptVersion: r.promptVersion, lastCallSpanId: r.spanId, requestSpanId: r.requestSpanId,
  };
}

/**
 * Runs the configured evaluators on finished LLM calls, off the response path: an LLM-call sink
 * decides (sampling, `when`) and enqueues; the work starts on a later turn of the event loop
 * (`setImmediate`), at most `queue.concurrency` at once, each bounded by its `timeoutMs`. A full
 * queue drops and counts; nothing an evaluator does reaches the app. Results become scores
 * (target `call`) and failure-mode counts.
 */
export class EvaluationRunner {
  private readonly queue: Job[] = [];
  private running = 0;
  private scheduled = false;
  private closed = false;
  private waiters: (() => void)[] = [];
  private readonly outcomes: Counter<'evaluator' | 'outcome'> | undefined;
  private readonly failures: Counter<'evaluator' | 'failure_mode' | 'feature'> | undefined;
  private readonly depth: Gauge | undefined;
  private readonly features = new LabelCap(200, 'none');
  private readonly modes: ReadonlySet<string>;

  constructor(private readonly scene: RunnerScene, private readonly options: ResolvedEvaluations) {
    this.modes = new Set(options.failureModes);
    const blind = options.evaluators.filter((e) => e.needsContent).map((e) => e.name);
    if (!scene.captureContent && blind.length > 0) {
      process.emitWarning(`llmscope: evaluators ${blind.join(', ')} read the prompt and answer, but \`llm.captureContent\` is off: they will not run. Set \`llm: { captureContent: true }\`.`, 'LlmscopeWarning');
    }
    const registry = scene.registry;
    if (registry !== undefined) {
      this.outcomes = counter(registry, 'llmscope_evaluations_total', 'Evaluator runs on LLM calls, by evaluator and outcome (ok, error, timeout, dropped: queue full or shut down, invalid_output: unusable result or judge verdict).', ['evaluator', 'outcome']);
      this.failures = counter(registry, 'llmscope_quality_failures_total', 'Failure modes reported by evaluators (a declared, bounded set; others count as other), by evaluator, failure mode and feature.', ['evaluator', 'failure_mode', 'feature']);
      this.depth = gauge(registry, 'llmscope_evaluations_queue_depth', 'Evaluations waiting in the evaluator queue.');
    }
  }

  /** Evaluations waiting to start. */
  get queued(): number {
    return this.queue.length;
  }

  /** The LLM-call sink: the configured evaluators (see {@link offer}). */
  readonly sink = (record: LlmCallRecord): void => {
    this.offer(record, this.options.evaluators);
  };

  /**
   * Samples, filters and enqueues `evaluators` for `record` (the configured ones, or those given
   * to one call with `traceLLM({ evaluators })`); never runs an evaluator itself.
   */
  offer(record: LlmCallRecord, evaluators: readonly ResolvedEvaluator[]): void {
    // Judges' own calls (and evaluators' calls of any kind) are never evaluated: no recursion.
    if (this.closed || record.outcome !== 'ok' || record.operation === 'embeddings' || record.feature === JUDGE_FEATURE) return;
    let documents: readonly RetrievedDocument[] | undefined;
    for (const evaluator of evaluators) {
      if (!sampled(evaluator, record)) continue;
      if (evaluator.when !== undefined) {
        try {
          if (evaluator.when(record) !== true) continue;
        } catch {
          this.count(evaluator, 'error');
          continue;
        }
      }
      if (this.queue.length >= this.options.queue.maxItems) {
        this.count(evaluator, 'dropped');
        continue;
      }
      // A copy: later retrieval steps of the request must not change what this call is judged on.
      documents ??= getContext()?.documents?.slice() ?? NO_DOCUMENTS;
      this.queue.push({ evaluator, record, documents });
      this.depth?.inc();
    }
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  }

  /** Resolves when nothing is queued or running (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Stops taking calls and waits up to `timeoutMs` for queued and running evaluations (their
   * scores then reach the exporters flushed next); what has not started by then is dropped, counted.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    await settleWithin(this.idle(), timeoutMs);
    for (const job of this.queue.splice(0)) {
      this.depth?.dec();
      this.count(job.evaluator, 'dropped');
    }
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    while (this.running < this.options.queue.concurrency && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.depth?.dec();
      this.running++;
      void this.run(job).finally(this.done);
    }
  };

  private readonly done = (): void => {
    this.running--;
    if (this.queue.length > 0) this.pump();
    else if (this.running === 0) for (const resolve of this.waiters.splice(0)) resolve();
  };

  private count(evaluator: ResolvedEvaluator, outcome: EvaluationOutcome): void {
    this.outcomes?.inc({ evaluator: evaluator.name, outcome });
  }

  /**
   * A context of its own for one evaluation: not the request's (which has ended), feature
   * `llmscope.judge`; for a judge, when tracing, a root span linked to the evaluated call so its
   * LLM calls form a trace of their own.
   */
  private contextFor(evaluator: ResolvedEvaluator, record: LlmCallRecord): RequestContext {
    const ctx = new RequestContext(performance.now(), this.scene.limits, this.scene.owner);
    ctx.feature = JUDGE_FEATURE;
    ctx.finished = true;
    let base: Context = ROOT_CONTEXT;
    if (this.scene.tracingOn && evaluator.source === 'judge') {
      const links: Link[] = record.traceId !== undefined && record.spanId !== undefined
        ? [{ context: { traceId: record.traceId, spanId: record.spanId, traceFlags: TraceFlags.SAMPLED } }] : [];
      const span = getTracer().startSpan(`evaluate ${evaluator.name}`, {
        kind: SpanKind.INTERNAL, links, attributes: { [LLMSCOPE.feature]: JUDGE_FEATURE, 'llmscope.evaluator': evaluator.name },
      }, ROOT_CONTEXT);
      ctx.span = span;
      base = trace.setSpan(ROOT_CONTEXT, span);
    }
    ctx.otelContext = bindContext(ctx, base);
    return ctx;
  }

  private async run(job: Job): Promise<void> {
    const { evaluator, record, documents } = job;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let span: Span | undefined;
    try {
      const messages = messagesOf(record.inputMessages);
      let question: string | undefined;
      for (let i = messages.length - 1; i >= 0 && question === undefined; i--) if (messages[i]?.role === 'user') question = messages[i]?.text;
      const answer = messagesOf(record.outputMessages).map((m) => m.text).join('\n') || undefined;
      const input: EvaluatorInput = { record, messages, question, answer, documents, signal: controller.signal };
      const ctx = this.contextFor(evaluator, record);
      span = ctx.span;
      const work = new Promise<EvaluatorOutput>((resolve) => resolve(runInContext(ctx, () => evaluator.evaluate(input))))
        .then((output): Settled => ({ ok: true, output }), (error: unknown): Settled => ({ ok: false, error }));
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(resolve, evaluator.timeoutMs, 'timeout');
        // An evaluation must not keep the process alive on its own.
        timer.unref();
      });
      const settled = await Promise.race([work, timeout]);
      let outcome: EvaluationOutcome;
      if (settled === 'timeout') {
        controller.abort(new Error(`llmscope: evaluator ${evaluator.name} timed out after ${evaluator.timeoutMs} ms`));
        outcome = 'timeout';
      } else if (!settled.ok) {
        outcome = settled.error instanceof InvalidEvaluatorOutput ? 'invalid_output' : 'error';
      } else {
        outcome = this.record(evaluator, record, settled.output);
      }
      if (outcome !== 'ok') span?.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      this.count(evaluator, outcome);
    } catch {
      // Only a bug of ours lands here; it must not reach the app either.
      this.count(evaluator, 'error');
    } finally {
      clearTimeout(timer);
      span?.end();
    }
  }

  /** Turns an evaluator's output into scores and failure counts; `invalid_output` if any part was unusable. */
  private record(evaluator: ResolvedEvaluator, call: LlmCallRecord, output: EvaluatorOutput): EvaluationOutcome {
    if (output === undefined) return 'ok';
    const list: readonly unknown[] = Array.isArray(output) ? output : [output];
    let valid = list.length <= MAX_RESULTS;
    const facts = factsOf(call);
    for (const item of list.slice(0, MAX_RESULTS)) {
      if (item === null || typeof item !== 'object') {
        valid = false;
        continue;
      }
      const r = item as EvaluatorResult;
      let mode: string | undefined;
      if (r.failureMode !== undefined) {
        if (typeof r.failureMode !== 'string' || r.failureMode.length === 0) {
          valid = false;
          continue;
        }
        mode = this.modes.has(r.failureMode) ? r.failureMode : OTHER_FAILURE_MODE;
      }
      const input: ScoreInput = {
        name: r.name ?? (r.value === undefined && mode !== undefined ? 'failure_mode' : evaluator.name),
        value: r.value ?? (mode as string),
        source: evaluator.source,
        evaluator: evaluator.name,
        target: 'call',
      };
      if (r.comment !== undefined) input.comment = r.comment;
      if (call.traceId !== undefined && call.spanId !== undefined) {
        input.traceId = call.traceId;
        input.spanId = call.spanId;
      }
      if (scoreProblem(input) !== undefined) {
        valid = false;
        continue;
      }
      this.scene.scores.record(input, { ctx: undefined, call: undefined, facts });
      if (mode !== undefined) this.failures?.inc({ evaluator: evaluator.name, failure_mode: mode, feature: this.features.get(call.feature) });
    }
    return valid ? 'ok' : 'invalid_output';
  }
}
