import { AsyncLocalStorage } from 'node:async_hooks';
import { context as otelContext, createContextKey, ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import { clipString } from './clip';
import { RequestOtelContext } from './request-otel-context';
import { settle } from './settle';

/** A tag value as accepted by {@link tag}. */
export type TagValue = string | number | boolean;

/** Bounds applied to values put in a context. */
export interface ContextLimits {
  maxValueLength: number;
  maxTags: number;
}

const DEFAULT_LIMITS: ContextLimits = { maxValueLength: 256, maxTags: 32 };

/** Where an error reported by {@link ContextOwner.reportError} happened. */
export interface ErrorOrigin {
  /** `step`: a failed `step()`; `job`: a failed `runWithContext()` outside any request. */
  source: 'step' | 'job';
  /** The step's name. */
  name?: string;
}

/**
 * What the llmscope instance owning a context offers the code running in it. Declared here so
 * that context/ depends on nothing; `Llmscope` implements it (and genai/'s wider interface).
 */
export interface ContextOwner {
  readonly tracingOn: boolean;
  /** Whether {@link reportError} goes anywhere (a logger or Sentry is configured). */
  readonly reportsErrors: boolean;
  /** Reports a failed step or job to the error log and Sentry. Never throws. */
  reportError(error: unknown, ctx: RequestContext | undefined, origin: ErrorOrigin): void;
  /**
   * Set when retrieval steps' documents are kept for evaluators (`llm.captureContent` on and an
   * evaluator configured): how many per request, and how long each text.
   */
  readonly documentCapture?: { readonly maxDocuments: number; readonly maxLength: number } | undefined;
}

/** A document a retrieval step returned, as kept for evaluators. */
export interface RetrievedDocument {
  /** The document's id, when the result item had one (`id`, `_id`, `documentId`, `metadata.id`). */
  readonly id?: string;
  /** Its text, clipped to `llm.maxContentLength`. */
  readonly text: string;
}

/** The LLM calls of one request, added up as they end. */
export interface LlmTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Sum of the priced calls' cost in USD. */
  costUsd: number;
}

/**
 * What a request holds only when it uses it (a feature, tags, a prompt, an error, LLM calls,
 * documents): kept out of {@link RequestContext} so that a plain request allocates 72 bytes less
 * (docs/performance.md, "What a request allocates"); created by the first write.
 */
class ContextExtras {
  feature: string | undefined = undefined;
  tags: Record<string, TagValue> | undefined = undefined;
  tagCount = 0;
  promptName: string | undefined = undefined;
  promptVersion: string | undefined = undefined;
  promptExperiment: string | undefined = undefined;
  error: unknown = undefined;
  llm: LlmTotals | undefined = undefined;
  lastCallSpanId: string | undefined = undefined;
  documents: RetrievedDocument[] | undefined = undefined;
}

/**
 * The state of one request (or one unit of work started with `runWithContext`). It follows
 * every `await`, timer and callback through AsyncLocalStorage. Read it with {@link getContext};
 * change it with {@link setUser}, {@link setSession}, {@link setFeature}, {@link tag}.
 */
export class RequestContext {
  userId: string | undefined = undefined;
  sessionId: string | undefined = undefined;
  /** Route template, once the framework knows it. */
  route: string | undefined = undefined;
  /** The request's server span, when tracing is on. */
  span: Span | undefined = undefined;
  /** OpenTelemetry context holding `span` (and this context, when `carried`): what work inside the request runs in. */
  otelContext: Context | undefined = undefined;
  /** True when this context travels inside `otelContext` rather than in llmscope's own store. */
  carried = false;
  /**
   * A slot private to the adapter that started the request (the Express adapter keeps its
   * mount-path stack there), so adapters add no properties to the framework's objects.
   */
  adapterState: unknown = undefined;
  /** Method label (normalised), set by the lifecycle. */
  method = '';
  finished = false;
  /** The fields below, once one of them is set. */
  private extras: ContextExtras | undefined = undefined;

  constructor(
    /** `performance.now()` at the start. */
    readonly startTime: number,
    readonly limits: ContextLimits,
    /** The llmscope instance that owns this request (its metrics receive the LLM calls made inside). */
    readonly owner: ContextOwner | undefined,
  ) {}

  private more(): ContextExtras {
    return (this.extras ??= new ContextExtras());
  }

  /** The request's feature (`setFeature`). */
  get feature(): string | undefined {
    return this.extras?.feature;
  }
  set feature(value: string | undefined) {
    this.more().feature = value;
  }

  /** Free-form tags; created on first use so that untagged requests allocate nothing. */
  get tags(): Record<string, TagValue> | undefined {
    return this.extras?.tags;
  }
  set tags(value: Record<string, TagValue> | undefined) {
    this.more().tags = value;
  }

  /** How many tags were set (bounded by `limits.maxTags`). */
  get tagCount(): number {
    return this.extras?.tagCount ?? 0;
  }
  set tagCount(value: number) {
    this.more().tagCount = value;
  }

  /** The prompt the request used (set by `getPrompt()`). */
  get promptName(): string | undefined {
    return this.extras?.promptName;
  }
  set promptName(value: string | undefined) {
    this.more().promptName = value;
  }

  /** The version of {@link promptName} the request used. */
  get promptVersion(): string | undefined {
    return this.extras?.promptVersion;
  }
  set promptVersion(value: string | undefined) {
    this.more().promptVersion = value;
  }

  /** The prompt experiment that chose `promptVersion` (set by `getPrompt()`), else undefined. */
  get promptExperiment(): string | undefined {
    return this.extras?.promptExperiment;
  }
  set promptExperiment(value: string | undefined) {
    this.more().promptExperiment = value;
  }

  /** The error that ended the request, if any reached the framework. */
  get error(): unknown {
    return this.extras?.error;
  }
  set error(value: unknown) {
    this.more().error = value;
  }

  /** The request's LLM calls added up; created by the first call. */
  get llm(): LlmTotals | undefined {
    return this.extras?.llm;
  }
  set llm(value: LlmTotals | undefined) {
    this.more().llm = value;
  }

  /** Span id of the request's last LLM call (what a `call` score given after it is about). */
  get lastCallSpanId(): string | undefined {
    return this.extras?.lastCallSpanId;
  }
  set lastCallSpanId(value: string | undefined) {
    this.more().lastCallSpanId = value;
  }

  /** Documents of the request's retrieval steps, only when the owner's `documentCapture` is set. */
  get documents(): RetrievedDocument[] | undefined {
    return this.extras?.documents;
  }
  set documents(value: RetrievedDocument[] | undefined) {
    this.more().documents = value;
  }

  /** Trace id of the request, when it is traced. */
  get traceId(): string | undefined {
    return this.span?.spanContext().traceId;
  }

  /** What a log line or `res.json(getContext())` shows: the tags, not the internals. */
  toJSON(): Record<string, unknown> {
    return {
      userId: this.userId, sessionId: this.sessionId, feature: this.feature, tags: this.tags,
      promptName: this.promptName, promptVersion: this.promptVersion, route: this.route, traceId: this.traceId,
      llm: this.llm,
    };
  }
}

/**
 * llmscope's own AsyncLocalStorage, used only when no working OpenTelemetry context manager is
 * registered (tracing off and none from the app). Otherwise the request context rides inside the
 * OpenTelemetry context ({@link REQUEST_CONTEXT_KEY}): in Node 20 every active AsyncLocalStorage
 * costs each promise of the app ~0.05 µs (bench/src/micro.ts), so one store is kept instead of two.
 */
export const storage = new AsyncLocalStorage<RequestContext>();

/** Key of the request context inside an OpenTelemetry `Context`. */
export const REQUEST_CONTEXT_KEY = createContextKey('llmscope.request');

let carried: boolean | undefined;

/**
 * Whether request contexts travel in the OpenTelemetry context: true when the global context
 * manager propagates values (an AsyncLocalStorage or async-hooks manager does; the no-op default
 * does not). Probed once; tracing set-up resets it after registering a manager.
 */
export function otelCarriesContext(): boolean {
  if (carried === undefined) {
    const probe = ROOT_CONTEXT.setValue(REQUEST_CONTEXT_KEY, true);
    carried = otelContext.with(probe, () => otelContext.active().getValue(REQUEST_CONTEXT_KEY) === true);
  }
  return carried;
}

/** Forgets the probe (called after llmscope registers a context manager). */
export function resetContextCarrier(): void {
  carried = undefined;
}

/** The context of the current request, or `undefined` outside of one. */
export function getContext(): RequestContext | undefined {
  return otelCarriesContext() ? (otelContext.active().getValue(REQUEST_CONTEXT_KEY) as RequestContext | undefined) : storage.getStore();
}

/**
 * The OpenTelemetry context that work of `ctx` runs in: `base` (or the active context) carrying
 * `ctx` when contexts travel there; `base` alone otherwise (then `ctx` goes in {@link storage}).
 */
export function bindContext(ctx: RequestContext, base: Context | undefined): Context | undefined {
  ctx.carried = otelCarriesContext();
  return ctx.carried ? (base ?? otelContext.active()).setValue(REQUEST_CONTEXT_KEY, ctx) : base;
}

/**
 * {@link bindContext} for a request with its server span: `parent` with `span` set and `ctx` bound,
 * in one object when contexts travel in the OpenTelemetry context (see {@link RequestOtelContext}).
 */
export function bindRequestContext(ctx: RequestContext, parent: Context, span: Span): Context {
  ctx.carried = otelCarriesContext();
  return ctx.carried ? new RequestOtelContext(parent, span, REQUEST_CONTEXT_KEY, ctx) : trace.setSpan(parent, span);
}

/** Runs `fn` with `ctx` current; `ctx.otelContext` must come from {@link bindContext}. */
export function runInContext<T>(ctx: RequestContext, fn: () => T): T {
  if (ctx.carried) return otelContext.with(ctx.otelContext as Context, fn);
  if (ctx.otelContext !== undefined) return otelContext.with(ctx.otelContext, storage.run, storage, ctx, fn) as T;
  return storage.run(ctx, fn);
}

/**
 * Runs `fn` in a fresh context (for work outside an HTTP request: a queue consumer, a cron job),
 * so that tags, user and session work there too.
 */
export function runWithContext<T>(fn: () => T, limits: ContextLimits = DEFAULT_LIMITS): T {
  const ctx = new RequestContext(performance.now(), limits, undefined);
  ctx.otelContext = bindContext(ctx, undefined);
  // A job has no framework to report its failure: its error goes to the logs and Sentry, then
  // on to the caller unchanged.
  return runInContext(ctx, () => settle(fn, (error, _value, failed) => {
    if (failed) currentOwner()?.reportError(error, ctx, { source: 'job' });
  }));
}

/** Sets the user of the current request. Non-strings and empty strings are ignored; long ids are clipped. */
export function setUser(userId: unknown): void {
  const ctx = getContext();
  const value = ctx && clipString(userId, ctx.limits.maxValueLength);
  if (value !== undefined && ctx) ctx.userId = value;
}

/** Sets the session (conversation) of the current request. Same rules as {@link setUser}. */
export function setSession(sessionId: unknown): void {
  const ctx = getContext();
  const value = ctx && clipString(sessionId, ctx.limits.maxValueLength);
  if (value !== undefined && ctx) ctx.sessionId = value;
}

/** Names the product feature the current request serves (a bounded set: it becomes a metric label later). */
export function setFeature(name: unknown): void {
  const ctx = getContext();
  const value = ctx && clipString(name, ctx.limits.maxValueLength);
  if (value !== undefined && ctx) ctx.feature = value;
}

/**
 * Sets the prompt name and version used by the current request; every LLM span inside carries them.
 */
export function setPromptVersion(name: unknown, version: unknown): void {
  const ctx = getContext();
  if (!ctx) return;
  const n = clipString(name, ctx.limits.maxValueLength);
  const v = typeof version === 'number' ? String(version) : clipString(version, ctx.limits.maxValueLength);
  if (n === undefined || v === undefined) return;
  ctx.promptName = n;
  ctx.promptVersion = v;
  // Set by hand: no experiment chose this version.
  ctx.promptExperiment = undefined;
}

/**
 * Adds a tag to the current request; it lands on the request span as `llmscope.tag.<key>`.
 * Keys and string values are clipped; other value types than string, number and boolean are
 * ignored, as are tags past the `maxTags` limit.
 */
export function tag(key: unknown, value: unknown): void {
  const ctx = getContext();
  if (!ctx) return;
  const k = clipString(key, 64);
  if (k === undefined) return;
  let v: TagValue | undefined;
  if (typeof value === 'string') v = clipString(value, ctx.limits.maxValueLength);
  else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') v = value;
  if (v === undefined) return;
  if (ctx.tags === undefined) ctx.tags = Object.create(null) as Record<string, TagValue>;
  if (!(k in ctx.tags)) {
    if (ctx.tagCount >= ctx.limits.maxTags) return;
    ctx.tagCount++;
  }
  ctx.tags[k] = v;
}

let fallbackOwner: ContextOwner | undefined;

/** Called by each new instance: work outside any request is recorded by the latest one. */
export function setFallbackOwner(owner: ContextOwner | undefined): void {
  fallbackOwner = owner;
}

/** Whether the fallback is `owner` (so an instance shutting down can clear it). */
export function isFallbackOwner(owner: ContextOwner): boolean {
  return fallbackOwner === owner;
}

/** The instance owning the current request, else the latest instance created, else none. */
export function currentOwner(): ContextOwner | undefined {
  return getContext()?.owner ?? fallbackOwner;
}

/** Whether spans should be created here (true when no instance exists: the OTel API decides). */
export function tracingEnabled(): boolean {
  const owner = currentOwner();
  return owner === undefined ? true : owner.tracingOn;
}

/**
 * The current request's context as apps see it: read-only (change it with {@link setUser},
 * {@link setSession}, {@link setFeature}, {@link setPromptVersion}, {@link tag}).
 */
export interface LlmscopeContext {
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  readonly feature: string | undefined;
  readonly promptName: string | undefined;
  readonly promptVersion: string | undefined;
  /** The prompt experiment that chose `promptVersion`, when `getPrompt()` assigned it. */
  readonly promptExperiment: string | undefined;
  /** Route template, once the framework has matched it. */
  readonly route: string | undefined;
  readonly tags: Readonly<Record<string, TagValue>> | undefined;
  /** Trace id of the request, when it is traced. */
  readonly traceId: string | undefined;
  /** The request's LLM calls so far, added up. */
  readonly llm: Readonly<LlmTotals> | undefined;
  toJSON(): Record<string, unknown>;
}
