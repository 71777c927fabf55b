import { trace } from '@opentelemetry/api';
import type { Counter, Gauge, Registry } from 'prom-client';
import { getContext, type RequestContext } from '../context/context';
import { LabelCap } from '../genai/labels';
import { counter, gauge } from '../http/prom';
import { PromptExperiment, type AssignmentReason } from './experiment';
import { LangfuseSource, PromptFetchError, type FetchResult } from './langfuse';
import type { LocalSource, PromptSelection } from './local';
import type { ResolvedPrompts } from './options';
import { makePrompt, type ChatMessage, type Prompt } from './prompt';
import { ShadowRuns } from './shadow';

/** Options of `getPrompt()`. */
export interface GetPromptOptions {
  /** A label (`production`, `staging`, ...). Asking a label or a version bypasses the prompt's experiment. */
  label?: string;
  /** A version (`v3`; Langfuse's are numbers). */
  version?: string | number;
  /**
   * Served (marked `isFallback`, version `fallback`) when the prompt cannot be had: Langfuse down
   * or without this prompt and nothing cached. Without it, the local copy of the prompt serves;
   * without either, `getPrompt()` rejects.
   */
  fallback?: string | ChatMessage[];
}

/** `getPrompt()` could not give a prompt: no such local prompt, or Langfuse failed and there was no fallback. */
export class LlmscopePromptError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`llmscope: ${message}`, options);
    this.name = 'LlmscopePromptError';
  }
}

/** A request's variant of one experiment. */
interface Assignment {
  readonly version: string;
  readonly reason: AssignmentReason;
  /** The unit hashed (user, session or trace id); undefined for a request with none. */
  readonly unit: string | undefined;
}

/** Flag evaluation attributes of OpenTelemetry's semantic conventions (`feature_flag.evaluation` event). */
const FEATURE_FLAG = {
  event: 'feature_flag.evaluation',
  key: 'feature_flag.key',
  provider: 'feature_flag.provider.name',
  variant: 'feature_flag.result.variant',
  reason: 'feature_flag.result.reason',
  contextId: 'feature_flag.context.id',
} as const;

/**
 * The prompt registry of one llmscope instance: one `get()` over the local source (the embedded
 * default) and Langfuse, experiments that pick a version per request, forced variants. Getting
 * a prompt inside a request sets the request's prompt name and version (and experiment), so the
 * spans, metrics, cost, logs, scores and Sentry events of the request carry them.
 */
export class PromptRegistry {
  /** The local prompts. @internal */
  readonly local: LocalSource;
  /** The Langfuse source; undefined when `prompts.langfuse` is off. @internal */
  readonly langfuse: LangfuseSource | undefined;
  private readonly experiments = new Map<string, PromptExperiment>();
  /** Shadow runs (`prompts.shadow`, started by `runShadow()`). @internal */
  readonly shadows: ShadowRuns;
  /** Per request: each experiment's assignment (stable within the request), and forced versions. */
  private readonly assigned = new WeakMap<RequestContext, Map<string, Assignment>>();
  private readonly forced = new WeakMap<RequestContext, Map<string, string>>();
  private readonly warned = new Set<string>();
  private readonly assignments: Counter<'prompt_name' | 'prompt_version' | 'reason'> | undefined;
  private readonly assignmentChildren = new Map<PromptExperiment, Map<string, Counter.Internal>>();
  private readonly fallbacks: Counter<'prompt_name'> | undefined;
  private readonly fallbackNames = new LabelCap(200, 'none');
  /** Fallback prompts already built (by name and content), so an outage parses no template per request. */
  private readonly fallbackPrompts = new Map<string, Prompt>();
  private readonly fallbackArrays = new WeakMap<readonly ChatMessage[], Prompt>();

  /** @internal Built by the instance from `prompts`. */
  constructor(options: ResolvedPrompts, metrics: Registry | undefined) {
    this.local = options.local;
    this.langfuse = options.langfuse === undefined ? undefined : new LangfuseSource(options.langfuse);
    for (const e of options.experiments) {
      const known = this.langfuse === undefined ? (version: string): boolean => this.local.has(e.prompt, version) : undefined;
      this.experiments.set(e.prompt, new PromptExperiment(e.prompt, e.variants, e.salt, e.force, known));
    }
    this.shadows = new ShadowRuns(options.shadows, (name, version) => this.get(name, { version }), metrics);
    if (metrics === undefined) return;
    this.assignments = counter(metrics, 'llmscope_prompt_assignments_total', 'Prompt experiment assignments, by prompt name, version and reason (split: by the hash; forced).', ['prompt_name', 'prompt_version', 'reason']);
    this.fallbacks = counter(metrics, 'llmscope_prompt_fallbacks_total', 'Fallback prompts served because the prompt source could not give the prompt, by prompt name.', ['prompt_name']);
    if (this.langfuse !== undefined) {
      const fetches: Counter<'result'> = counter(metrics, 'llmscope_prompt_fetches_total', 'Langfuse prompt gets, by result: hit (fresh in cache), stale (served while refreshing), miss (fetched), error (failed, nothing cached).', ['result']);
      const children = new Map<FetchResult, Counter.Internal>();
      this.langfuse.onResult = (result) => {
        let child = children.get(result);
        if (child === undefined) children.set(result, child = fetches.labels(result));
        child.inc();
      };
    }
    if (this.experiments.size > 0) {
      const experiments = this.experiments;
      gauge(metrics, 'llmscope_prompt_experiment_weight', 'Share of new assignments each version of a prompt experiment gets (0-1).', ['prompt_name', 'prompt_version'], function collect(this: Gauge<'prompt_name' | 'prompt_version'>) {
        for (const e of experiments.values()) {
          const w = e.weights();
          let sum = 0;
          for (const v of e.versions()) sum += w[v] as number;
          for (const v of e.versions()) this.set({ prompt_name: e.prompt, prompt_version: v }, (w[v] as number) / sum);
        }
      });
    }
  }

  /** The experiment on a prompt (its {@link TrafficControl}), or undefined. */
  experiment(name: string): PromptExperiment | undefined {
    return this.experiments.get(name);
  }

  /** Every experiment. */
  allExperiments(): PromptExperiment[] {
    return [...this.experiments.values()];
  }

  /**
   * Forces `version` of prompt `name` for the current request (tests, internal users): its
   * experiment assignment and its default label are skipped. Outside a request it does nothing.
   * Apps call `forcePromptVersion()`. @internal
   */
  force(name: string, version: string): void {
    const ctx = getContext();
    if (ctx === undefined) return;
    let map = this.forced.get(ctx);
    if (map === undefined) this.forced.set(ctx, map = new Map());
    map.set(name, version);
  }

  /**
   * The prompt `name`: the version or label asked, else the current request's variant when the
   * prompt has an experiment (or its forced version), else `production`. Inside a request, sets
   * the request's prompt name and version.
   */
  async get(name: string, options: GetPromptOptions = {}): Promise<Prompt> {
    if (typeof name !== 'string' || name.length === 0) throw new LlmscopePromptError(`getPrompt() needs a prompt name, got ${JSON.stringify(name)}.`);
    const ctx = getContext();
    const selection: PromptSelection = {};
    let experiment: PromptExperiment | undefined;
    if (options.version !== undefined) selection.version = String(options.version);
    else if (options.label !== undefined) selection.label = options.label;
    else {
      const forced = ctx === undefined ? undefined : this.forced.get(ctx)?.get(name);
      if (forced !== undefined) selection.version = forced;
      else {
        experiment = this.experiments.get(name);
        if (experiment !== undefined) selection.version = this.assign(experiment, ctx).version;
      }
    }
    const prompt = await this.load(name, selection, options.fallback);
    if (ctx !== undefined) {
      ctx.promptName = clip(prompt.name, ctx.limits.maxValueLength);
      ctx.promptVersion = clip(prompt.version, ctx.limits.maxValueLength);
      // A fallback is not the assigned variant: it does not count for the experiment.
      ctx.promptExperiment = experiment !== undefined && !prompt.isFallback ? experiment.prompt : undefined;
    }
    return prompt;
  }

  /**
   * What `get(name)` would pick for the current request without fetching: the experiment's
   * variant, else the `production` version if it is known now (local, or cached from Langfuse).
   * For callers that cannot wait (Nest's `@PromptVersion(name)` sets the method's prompt with it).
   * @internal
   */
  peek(name: string): { version: string | undefined; experiment: string | undefined } {
    const ctx = getContext();
    const forced = ctx === undefined ? undefined : this.forced.get(ctx)?.get(name);
    if (forced !== undefined) return { version: forced, experiment: undefined };
    const experiment = this.experiments.get(name);
    if (experiment !== undefined) return { version: this.assign(experiment, ctx).version, experiment: experiment.prompt };
    const known = this.langfuse !== undefined ? this.langfuse.cached(name, {}) : this.local.get(name, {});
    return { version: known?.version, experiment: undefined };
  }

  /** The request's variant: forced for its user or session, else by the hash of its user, session or trace id. */
  private assign(experiment: PromptExperiment, ctx: RequestContext | undefined): Assignment {
    let memo = ctx === undefined ? undefined : this.assigned.get(ctx);
    const known = memo?.get(experiment.prompt);
    if (known !== undefined) return known;
    let assignment: Assignment | undefined;
    const user = ctx?.userId;
    const session = ctx?.sessionId;
    const force = experiment.force;
    if (force.size > 0) {
      const version = (user !== undefined ? force.get(user) : undefined) ?? (session !== undefined ? force.get(session) : undefined);
      if (version !== undefined) assignment = { version, reason: 'forced', unit: user ?? session };
    }
    if (assignment === undefined) {
      const unit = user ?? session ?? ctx?.traceId;
      // No id at all (tracing off, anonymous): a random bucket, kept for the rest of the request.
      const version = unit !== undefined ? experiment.assign(unit) : experiment.versionAt(Math.random());
      assignment = { version, reason: 'split', unit };
    }
    if (ctx !== undefined) {
      if (memo === undefined) this.assigned.set(ctx, memo = new Map());
      memo.set(experiment.prompt, assignment);
      this.recordAssignment(experiment, assignment, ctx);
    }
    return assignment;
  }

  private recordAssignment(experiment: PromptExperiment, a: Assignment, ctx: RequestContext): void {
    const counter = this.assignments;
    if (counter !== undefined) {
      // Children cached by experiment, version and reason: no label hashing per request.
      const key = `${a.reason}\u0000${a.version}`;
      let children = this.assignmentChildren.get(experiment);
      if (children === undefined) this.assignmentChildren.set(experiment, children = new Map());
      let child = children.get(key);
      if (child === undefined) children.set(key, child = counter.labels(experiment.prompt, a.version, a.reason));
      child.inc();
    }
    if (ctx.owner !== undefined && !ctx.owner.tracingOn) return;
    const span = trace.getActiveSpan() ?? ctx.span;
    if (span === undefined || !span.isRecording()) return;
    const attributes: Record<string, string> = {
      [FEATURE_FLAG.key]: experiment.prompt,
      [FEATURE_FLAG.provider]: 'llmscope',
      [FEATURE_FLAG.variant]: a.version,
      [FEATURE_FLAG.reason]: a.reason === 'forced' ? 'targeting_match' : 'split',
    };
    if (a.unit !== undefined) attributes[FEATURE_FLAG.contextId] = a.unit;
    span.addEvent(FEATURE_FLAG.event, attributes);
  }

  private async load(name: string, selection: PromptSelection, fallback: GetPromptOptions['fallback']): Promise<Prompt> {
    const langfuse = this.langfuse;
    if (langfuse === undefined) {
      const prompt = this.local.get(name, selection);
      if (prompt !== undefined) return prompt;
      const why = `no local prompt ${JSON.stringify(name)} has ${selection.version !== undefined ? `version ${JSON.stringify(selection.version)}` : `label ${JSON.stringify(selection.label ?? 'production')}`}`;
      if (fallback !== undefined) return this.fallback(name, fallback, undefined, why);
      const known = this.local.versions(name);
      throw new LlmscopePromptError(`${why}${known.length > 0 ? ` (it has ${known.join(', ')})` : this.local.names().length > 0 ? ` (known prompts: ${this.local.names().join(', ')})` : ''}; add it to \`prompts.local\` or \`prompts.dir\`.`);
    }
    try {
      return await langfuse.get(name, selection);
    } catch (error) {
      const why = error instanceof PromptFetchError ? error.message : String(error);
      if (fallback !== undefined) return this.fallback(name, fallback, undefined, why);
      const copy = this.local.get(name, selection) ?? this.local.get(name, {});
      if (copy !== undefined) return this.fallback(name, copy.prompt as string | ChatMessage[], copy.config, why);
      throw new LlmscopePromptError(`${why}, and there is no fallback: pass \`fallback\` to getPrompt(), or keep a local copy of the prompt (\`prompts.dir\` or \`prompts.local\`).`, { cause: error });
    }
  }

  private fallback(name: string, content: string | ChatMessage[], config: Readonly<Record<string, unknown>> | undefined, why: string): Prompt {
    this.fallbacks?.labels(this.fallbackNames.get(name)).inc();
    if (!this.warned.has(name)) {
      this.warned.add(name);
      process.emitWarning(`llmscope: serving the fallback of prompt ${JSON.stringify(name)}: ${why}. Further fallbacks of this prompt are counted in llmscope_prompt_fallbacks_total, not warned.`, 'LlmscopeWarning');
    }
    const key = typeof content === 'string' ? `${name}\u0000${content}` : undefined;
    const built = key !== undefined ? this.fallbackPrompts.get(key) : this.fallbackArrays.get(content as ChatMessage[]);
    if (built !== undefined && built.name === name) return built;
    const prompt = makePrompt({ name, version: 'fallback', prompt: content, config: config === undefined ? undefined : { ...config } }, 'fallback', true);
    if (key === undefined) this.fallbackArrays.set(content as ChatMessage[], prompt);
    else if (this.fallbackPrompts.size < 1000) this.fallbackPrompts.set(key, prompt);
    return prompt;
  }
}

function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}
