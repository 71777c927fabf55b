import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Link } from '@opentelemetry/api';
import type { Counter, Registry } from 'prom-client';
import { configError, entry, field, nonEmptyString, numberInRange, object, positiveInt, record } from '../config/validate';
import { bindContext, getContext, runInContext, RequestContext, type ContextOwner } from '../context/context';
import { SHADOW_FEATURE } from '../genai/record';
import { LLMSCOPE } from '../genai/schema';
import { counter } from '../http/prom';
import { getTracer } from '../tracing/provider';
import type { Prompt } from './prompt';

/**
 * A shadow run of one prompt (`prompts.shadow["rag-answer"]`): on a sample of requests, a
 * candidate version runs through the app's own pipeline ({@link runShadow}) off the response
 * path, its output dropped. Its LLM calls are traced (`llmscope.shadow=true`), priced and evaluated
 * under `feature="llmscope.shadow"`, and never counted by the prompt's guard.
 */
export interface ShadowOptions {
  /** The candidate version run in the shadow, such as `"v4"` (Langfuse: its version number). */
  version: string | number;
  /** Share of the requests that call `runShadow()` which start a shadow run, 0–1. Default 0.1. */
  sample?: number;
  /** Shadow runs at once in this process; a run that would exceed it is dropped and counted. Default 4. */
  maxConcurrent?: number;
  /** After this long a run no longer holds its slot (counted as `timeout`; its work is not cancelled), ms. Default 60000. */
  timeoutMs?: number;
}

/** One shadow, validated. */
export interface ResolvedShadow {
  readonly prompt: string;
  readonly at: string;
  readonly version: string;
  readonly sample: number;
  readonly maxConcurrent: number;
  readonly timeoutMs: number;
}

const SHADOW_KEYS = ['version', 'sample', 'maxConcurrent', 'timeoutMs'] as const;

/** Validates `prompts.shadow`. */
export function resolveShadows(value: unknown): ResolvedShadow[] {
  const at = 'prompts.shadow';
  const shadows = record(at, value, 'an object of shadow runs by prompt name, such as { "rag-answer": { version: "v4", sample: 0.1 } }');
  if (shadows === undefined) return [];
  return Object.entries(shadows).map(([prompt, v]) => {
    const where = entry(at, prompt);
    if (prompt.length === 0) configError(`option \`${at}\` has an empty prompt name.`);
    const o = object(where, v, SHADOW_KEYS, 'a shadow run such as { version: "v4", sample: 0.1, maxConcurrent: 4 }') ?? {};
    const raw = typeof o.version === 'number' && Number.isFinite(o.version) ? String(o.version) : o.version;
    const version = nonEmptyString(field(where, 'version'), raw, { expected: 'the candidate version, such as "v4"' });
    if (version === undefined) configError(`option \`${field(where, 'version')}\` is required: the candidate version run in the shadow, such as "v4".`);
    return {
      prompt, at: where, version,
      sample: numberInRange(field(where, 'sample'), o.sample, 0, 1, 'a share of requests from 0 to 1, such as 0.1') ?? 0.1,
      maxConcurrent: positiveInt(field(where, 'maxConcurrent'), o.maxConcurrent) ?? 4,
      timeoutMs: positiveInt(field(where, 'timeoutMs'), o.timeoutMs, 'a positive whole number of milliseconds such as 60000') ?? 60_000,
    };
  });
}

/** How a shadow run ended, or why none started (`llmscope_prompt_shadow_runs_total{result}`). */
export type ShadowResult = 'ok' | 'error' | 'timeout' | 'dropped';

interface ShadowState {
  readonly config: ResolvedShadow;
  running: number;
  readonly results: Partial<Record<ShadowResult, Counter.Internal>>;
}

/** Gets a prompt version in the shadow's context (the registry's `get`). */
export type ShadowPromptGetter = (name: string, version: string) => Promise<Prompt>;

/**
 * The shadow runs of an instance. {@link start} costs a map lookup, a random draw and a counter
 * check on the request's path; the run itself starts on a later tick, in a context of its own.
 */
export class ShadowRuns {
  private readonly byPrompt = new Map<string, ShadowState>();
  /** Runs in flight (for tests and shutdown). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(shadows: readonly ResolvedShadow[], private readonly getPrompt: ShadowPromptGetter, metrics: Registry | undefined, private readonly random: () => number = Math.random) {
    const runs = metrics === undefined || shadows.length === 0 ? undefined
      : counter(metrics, 'llmscope_prompt_shadow_runs_total', 'Shadow runs of candidate prompt versions, by prompt and result (ok, error, timeout, dropped: over maxConcurrent).', ['prompt_name', 'prompt_version', 'result']);
    for (const config of shadows) {
      const results: ShadowState['results'] = {};
      if (runs !== undefined) for (const r of ['ok', 'error', 'timeout', 'dropped'] as const) results[r] = runs.labels(config.prompt, config.version, r);
      this.byPrompt.set(config.prompt, { config, running: 0, results });
    }
  }

  /** Whether `prompt` has a shadow. */
  has(prompt: string): boolean {
    return this.byPrompt.has(prompt);
  }

  /** Shadow runs of `prompt` now in flight. */
  running(prompt: string): number {
    return this.byPrompt.get(prompt)?.running ?? 0;
  }

  /** Resolves when every run started so far has ended (or timed out). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /**
   * Maybe starts a shadow run of `prompt` with `run` (sampled, bounded). Never throws, never
   * waits, returns nothing: the shadow's output cannot reach the response.
   */
  start(prompt: string, run: (candidate: Prompt) => unknown, owner: ContextOwner | undefined): void {
    const state = this.byPrompt.get(prompt);
    if (state === undefined || typeof run !== 'function') return;
    const { config } = state;
    if (!(this.random() < config.sample)) return;
    if (state.running >= config.maxConcurrent) {
      state.results.dropped?.inc();
      return;
    }
    state.running++;
    const parent = getContext();
    const done = new Promise<void>((resolve) => {
      // A later tick: not even the pipeline's synchronous part runs on the request's.
      setImmediate(() => {
        this.execute(state, run, parent, owner).then(resolve, resolve);
      });
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }

  private async execute(state: ShadowState, run: (candidate: Prompt) => unknown, parent: RequestContext | undefined, owner: ContextOwner | undefined): Promise<void> {
    const { config } = state;
    let timer: NodeJS.Timeout | undefined;
    let released = false;
    const release = (result: ShadowResult): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      state.running--;
      state.results[result]?.inc();
    };
    const ctx = this.contextFor(config, parent, owner);
    const span = ctx.span;
    try {
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(resolve, config.timeoutMs, 'timeout');
        // A shadow run never keeps the process alive.
        timer.unref();
      });
      const work = runInContext(ctx, async () => {
        const candidate = await this.getPrompt(config.prompt, config.version);
        // The output is awaited and dropped: nothing of it is kept.
        await run(candidate);
      });
      const outcome = await Promise.race([work.then(() => 'ok' as const), timeout]);
      if (outcome === 'timeout') span?.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
      release(outcome);
      // A timed-out run still ends its span when its work does (its LLM calls are recorded then).
      if (outcome === 'timeout') await work.catch(() => undefined);
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      release('error');
    } finally {
      span?.end();
    }
  }

  /**
   * The shadow's own context: the request's user and session (so the candidate sees the same
   * inputs), feature {@link SHADOW_FEATURE}, the candidate as prompt version; when tracing, a root
   * span `shadow <prompt> <version>` linked to the request's span, so the run is a trace of its own
   * and the request's trace is not held open.
   */
  private contextFor(config: ResolvedShadow, parent: RequestContext | undefined, owner: ContextOwner | undefined): RequestContext {
    const ctx = new RequestContext(performance.now(), parent?.limits ?? { maxValueLength: 256, maxTags: 32 }, parent?.owner ?? owner);
    ctx.userId = parent?.userId;
    ctx.sessionId = parent?.sessionId;
    ctx.feature = SHADOW_FEATURE;
    // Not a request: nothing ends it, and the request-end hooks never see it.
    ctx.finished = true;
    ctx.promptName = config.prompt;
    ctx.promptVersion = config.version;
    let base: Context = ROOT_CONTEXT;
    if ((parent?.owner ?? owner)?.tracingOn !== false) {
      const request = parent?.span?.spanContext();
      const links: Link[] = request !== undefined ? [{ context: { traceId: request.traceId, spanId: request.spanId, traceFlags: TraceFlags.SAMPLED } }] : [];
      const span = getTracer().startSpan(`shadow ${config.prompt} ${config.version}`, {
        kind: SpanKind.INTERNAL, links,
        attributes: { [LLMSCOPE.shadow]: true, [LLMSCOPE.feature]: SHADOW_FEATURE, [LLMSCOPE.promptName]: config.prompt, [LLMSCOPE.promptVersion]: config.version },
      }, ROOT_CONTEXT);
      ctx.span = span;
      base = trace.setSpan(ROOT_CONTEXT, span);
    }
    ctx.otelContext = bindContext(ctx, base);
    return ctx;
  }
}
