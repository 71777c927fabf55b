import type { IncomingHttpHeaders } from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, type Attributes, type Tracer } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { clipString, headerValue } from './context/clip';
import { bindContext, bindRequestContext, getContext, isFallbackOwner, RequestContext, runInContext, setFallbackOwner, type ContextLimits, type ErrorOrigin } from './context/context';
import { HttpMetrics, normaliseMethod } from './http/http-metrics';
import { traceLLM, type LlmCall, type LlmCallOptions } from './genai/trace-llm';
import type { CostReport } from './genai/cost/attribution';
import type { GenAiOwner, ValidationFailure } from './genai/owner';
import type { LlmCallSink } from './genai/record';
import { LlmRuntime } from './genai/runtime';
import { COMMON, LLMSCOPE } from './genai/schema';
import { foreignGenAiSpans } from './genai/span-records';
import { createMetricsHandler, type HandlerResponse } from './http/metrics-endpoint';
import { setMetricPrefix } from './http/prom';
import { setExemplars } from './http/exemplars';
import { MetricsServer, type MetricsServerAddress } from './http/metrics-server';
import { resolveOptions, type LlmscopeOptions, type ResolvedOptions } from './config/options';
import { RouteTable } from './http/routes';
import { errorType } from './tracing/span-run';
import { step } from './tracing/step';
import { traceOutgoingCalls } from './tracing/outgoing';
import { drainThenShutdown, installSignalHook } from './exporters/shutdown-signal';
import { ServedServers } from './http/served-servers';
import { HookFailures } from './exporters/hook-failures';
import { processWarning } from './exporters/health';
import { Telemetry } from './exporters/telemetry';
import { ensureTracing, flushTracing, getTracer, llmscopeSpanProcessor, providerFeedsLlmscope } from './tracing/provider';
import { LlmscopeTracer } from './tracing/tracer';
import { LeanSpan } from './tracing/lean-span';
import { SamplingPipeline } from './sampling/pipeline';
import { Redactor } from './logging/redact';
import { RedactingSpanProcessor } from './exporters/redacting-processor';
import type { ScoreOwner } from './evals/api';
import type { ScoreInput, ScoreRecord, ScoreSink } from './evals/score';
import { Scores } from './evals/scores';
import { FeedbackRoute } from './evals/feedback';
import { EvaluationRunner } from './evals/runner';
import type { Evaluator } from './evals/evaluator';
import { resolveEvaluatorList, type ResolvedEvaluator } from './evals/options';
import type { LlmCallRecord } from './genai/record';
import { traceScore } from './evals/trace';
import { currentLlmCall } from './genai/call';
import type { TailSamplerStats } from './sampling/tail';
import { settleWithin } from './context/settle';
import { PromptRegistry, type GetPromptOptions } from './prompts/registry';
import { PromptGuards } from './prompts/guard/guards';
import type { GuardListener, GuardStatus } from './prompts/guard/guard';
import type { PromptOwner } from './prompts/api';
import type { Prompt } from './prompts/prompt';
import { Budgets } from './budgets/budgets';
import { checkPrefix, type OwnRoute, type OwnRouteHandler } from './http/own-routes';
import type { RequestRecord, RequestSink } from './http/request-record';


let warnedForeignProvider = false;

/**
 * The app registered its own tracer provider first: if llmscope has span consumers to feed
 * (exporters, the printer, `tracing.spanProcessors`) and the provider does not reach
 * `llmscopeSpanProcessor`, say so once, with the line to add. Metrics need no spans.
 */
function warnIfNotFed(o: ResolvedOptions): void {
  const consumers: string[] = [];
  if (o.exporters.otlp !== undefined) consumers.push('the OTLP exporter');
  if (o.exporters.langfuse !== undefined) consumers.push('the Langfuse exporter');
  if (o.tracing !== undefined && o.tracing.spanProcessors.length > 0) consumers.push('`tracing.spanProcessors`');
  if (o.tracing !== undefined && o.tracing.printTraces) consumers.push('the trace printer');
  if (consumers.length === 0 || providerFeedsLlmscope() !== false) return;
  warnedForeignProvider = true;
  process.emitWarning(
    `llmscope: your app registered its own OpenTelemetry tracer provider and llmscope's span processor is not on it, so ${consumers.join(', ')} get no spans. ` +
    "Add it to your provider: `import { llmscopeSpanProcessor } from '@llmscope/core';` then `spanProcessors: [/* yours */, llmscopeSpanProcessor]` in `new NodeSDK({...})` or `new NodeTracerProvider({...})`. See docs/tracing.md.",
    'LlmscopeWarning',
  );
}

/**
 * One llmscope instance: the framework-neutral request lifecycle that every adapter drives,
 * plus the metrics registry and the `/metrics` handler. Adapters call, per request:
 * {@link startRequest} → {@link run} (the rest of the framework's chain) → {@link setRoute}
 * when the route template is known → {@link recordError} if an error reaches the framework →
 * {@link finishRequest} with the status code. Adapters hold no metric, span or context logic.
 */
export class Llmscope implements GenAiOwner, ScoreOwner, PromptOwner {
  /** The validated options. */
  readonly options: ResolvedOptions;
  /** The Prometheus registry the metrics live in (llmscope's own unless one was passed). */
  readonly registry: Registry | undefined;
  /** Path of the metrics endpoint on the app's port, or undefined when none is mounted there (`metrics.path: false`, or `metrics.port`). */
  readonly metricsPath: string | undefined;
  private readonly metricsServer: MetricsServer | undefined;
  /**
   * With `metrics.port`: resolves with the port and address the metrics server listens on, or
   * rejects when it cannot listen (the port in use; also reported as a warning). Else undefined.
   */
  get metricsListening(): Promise<MetricsServerAddress> | undefined {
    return this.metricsServer?.listening;
  }
  /** Whether this instance creates spans (`tracing` not `false`). */
  readonly tracingOn: boolean;
  private readonly tracer: Tracer | undefined;
  /** {@link tracer} when it is llmscope's own (the provider is llmscope's): its request-span fast paths. */
  private readonly ownTracer: LlmscopeTracer | undefined;
  private readonly http: HttpMetrics | undefined;
  /**
   * The LLM side: price book, LLM metrics, cost attribution, sinks, cache and queue helpers.
   * @internal Apps use {@link costReport} and {@link onLlmCall}.
   */
  readonly genai: LlmRuntime;
  /** App code that threw inside a request (`identify`, `onLlmCall` listeners): counted, logged once. */
  private readonly hookFailures: HookFailures;
  private readonly routes: RouteTable;
  /** Whether `metrics.exclude` has paths or predicates to check when a request starts. */
  private readonly excluding: boolean;
  private readonly excludePaths: Set<string> | undefined;
  private readonly excludeRequest: ((method: string, path: string) => boolean) | undefined;
  private readonly limits: ContextLimits;
  private readonly metricsHandler: ((authorization: string | undefined, accept?: string) => Promise<HandlerResponse>) | undefined;
  /**
   * Exporters, logs and redaction; undefined when none is configured (nothing per request then).
   * @internal
   */
  readonly telemetry: Telemetry | undefined;
  private removeSignalHook: (() => void) | undefined;
  /** The servers requests came in on, stopped at a deploy signal no one else handles; undefined without the hook. */
  private readonly served: ServedServers | undefined;
  /** Requests started and not finished (excluded ones aside): what a deploy signal waits for. */
  private requestsInFlight = 0;
  /**
   * Head sampler settings, tail sampler and export stage; undefined when tracing is off.
   * @internal Apps use {@link samplingStats}.
   */
  readonly sampling: SamplingPipeline | undefined;
  /**
   * Scores: the recent-trace index and the score sinks.
   * @internal Apps use {@link score} and {@link onScore}.
   */
  readonly scores: Scores;
  /**
   * The human feedback route (`evaluations.feedback`); undefined when off. Adapters serve it
   * with the kit's `serveFeedback` (or hand it a parsed body, as Fastify does).
   */
  readonly feedback: FeedbackRoute | undefined;
  /**
   * The evaluator queue; undefined when no evaluator is configured (nothing per call then).
   * @internal
   */
  evaluations: EvaluationRunner | undefined;
  /** One call's evaluators, validated once per array (null: invalid, skipped). */
  private readonly callEvaluators = new WeakMap<readonly Evaluator[], ResolvedEvaluator[] | null>();
  /**
   * The prompt registry: local prompts, Langfuse, experiments (each experiment is the
   * `TrafficControl` a rollout or rollback guard drives: `prompts.experiment('rag-answer')`).
   */
  readonly prompts: PromptRegistry;
  /**
   * Rollback guards and gradual rollouts of prompt experiments (`prompts.guards` / `rollouts`);
   * undefined when none is set.
   * @internal Apps use {@link onPromptGuard} and {@link promptGuardStatus}.
   */
  readonly promptGuards: PromptGuards | undefined;
  /**
   * LLM budgets (`budgets`): spend accounts, gauges and the gate before each call; undefined when none is set.
   * @internal
   */
  readonly budgets: Budgets | undefined;
  /**
   * Own routes added with {@link addRoute} (the console): served by the adapters before the app.
   * @internal Adapters serve them through the kit's `serveOwnRoute`.
   */
  readonly ownRoutes: OwnRoute[] = [];
  /** Consumers of finished requests ({@link onRequest}); empty: no record is built. */
  private readonly requestSinks: RequestSink[] = [];
  /** Set when retrieval steps keep their documents for evaluators (content capture on). @internal */
  documentCapture: { readonly maxDocuments: number; readonly maxLength: number } | undefined;

  constructor(options?: LlmscopeOptions<never>) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.limits = { maxValueLength: o.maxValueLength, maxTags: o.maxTags };
    this.routes = new RouteTable(o.unmatchedRoute, o.maxRoutes, o.metrics?.excludeRoutes);
    this.excludePaths = o.metrics?.excludePaths;
    this.excludeRequest = o.metrics?.excludeRequest;
    this.excluding = this.excludePaths !== undefined || this.excludeRequest !== undefined;
    if (o.metrics) {
      this.registry = o.metrics.registry ?? new Registry();
      const prefix = o.metrics.prefix;
      if (prefix !== '') setMetricPrefix(this.registry, prefix);
      setExemplars(this.registry, o.metrics.exemplars);
      // Only llmscope's own registry: on an app registry they would label the app's metrics (rejected in options).
      if (o.metrics.labels !== undefined) this.registry.setDefaultLabels(o.metrics.labels);
      // Default metrics are registered once per registry (an app registry may have them already).
      if (o.metrics.defaultMetrics && this.registry.getSingleMetric(`${prefix}process_cpu_user_seconds_total`) === undefined) {
        collectDefaultMetrics(prefix === '' ? { register: this.registry } : { register: this.registry, prefix });
      }
      this.http = new HttpMetrics(this.registry, o.metrics.httpDurationBuckets, o.metrics.tagLabels, () => this.requestsInFlight);
      this.metricsHandler = createMetricsHandler(this.registry, o.metrics.bearerToken);
      // On a port of its own, the adapters see no metrics path and serve nothing on the app's port.
      if (o.metrics.port !== undefined && o.metrics.path !== undefined) this.metricsServer = new MetricsServer((authorization, accept) => this.handleMetrics(authorization, accept), o.metrics.path, o.metrics.port, o.metrics.host);
      else this.metricsPath = o.metrics.path;
    }
    const hookLogger = o.logging?.logger;
    this.hookFailures = new HookFailures(this.registry, hookLogger === undefined ? processWarning : (fields, message) => hookLogger.warn(fields, message));
    this.genai = new LlmRuntime(this.registry, o.llm);
    this.genai.onSinkError = (error) => this.hookFailures.failed('llm_call_sink', error);
    this.prompts = new PromptRegistry(o.prompts, this.registry);
    if (o.budgets !== undefined) {
      this.budgets = new Budgets(o.budgets, this.registry);
      this.genai.addSink(this.budgets.sink);
      if (this.budgets.enforcing) this.genai.gate = this.budgets.admit;
    }
    this.tracingOn = o.tracing !== undefined;
    if (o.tracing) {
      const state = ensureTracing(o.serviceName);
      if (!state.ownsProvider && !warnedForeignProvider) warnIfNotFed(o);
      // Exporters, the app's processors and the printer sit behind sampling; metrics do not.
      this.sampling = new SamplingPipeline(o.sampling, this.registry);
      // Redacted like the exporters' spans (docs/redaction.md), unless `redact.appSpanProcessors` is false.
      const redactor = o.redact === false ? undefined : new Redactor(o.redact);
      const appProcessors = o.tracing.spanProcessors;
      if (redactor === undefined || (o.redact !== false && o.redact.appSpanProcessors === false)) for (const p of appProcessors) this.sampling.stage.add(p);
      else if (appProcessors.length > 0) this.sampling.stage.add(new RedactingSpanProcessor(appProcessors, redactor));
      if (o.tracing.printTraces) this.sampling.addPrinter(redactor);
      if (o.tracing.outgoing) traceOutgoingCalls(this);
      this.tracer = getTracer();
    }
    this.ownTracer = this.tracer instanceof LlmscopeTracer ? this.tracer : undefined;
    this.telemetry = Telemetry.create({ exporters: o.exporters, logging: o.logging, redact: o.redact, tracingOn: this.tracingOn, exportStage: this.sampling?.stage }, this.registry);
    const telemetry = this.telemetry;
    if (telemetry !== undefined) this.genai.addSink((record) => telemetry.llmCall(record));
    this.reportsErrors = telemetry !== undefined && (telemetry.logging !== undefined || telemetry.sentry !== undefined);
    this.scores = new Scores(this.registry, o.evaluations);
    const feedback = o.evaluations.feedback;
    this.feedback = feedback === undefined ? undefined : new FeedbackRoute(feedback, (input) => this.score(input));
    if (feedback !== undefined && feedback.authorize === undefined && process.env.NODE_ENV === 'production') {
      process.emitWarning(`llmscope: the feedback route ${feedback.path} has no \`authorize\` hook: anyone who can reach the app can score any trace. Set \`evaluations.feedback.authorize\`.`, 'LlmscopeWarning');
    }
    // Late scores find their trace by id: only traced calls have one.
    if (this.tracingOn && o.evaluations.recentTraces > 0) this.genai.addSink(this.scores.llmCallSink);
    if (this.tracingOn) this.scores.addSink(traceScore);
    if (telemetry !== undefined) this.scores.addSink((s) => telemetry.score(s));
    if (o.evaluations.evaluators.length > 0) {
      this.evaluations = this.evaluationRunner();
      this.genai.addSink(this.evaluations.sink);
      this.captureDocuments();
    }
    // One process-wide processor (adding it twice is a no-op): each foreign span goes to one instance.
    llmscopeSpanProcessor.add(foreignGenAiSpans);
    // Last: guards read this instance's records, scores, logger and Sentry, and check their
    // experiments (a bad baseline or candidate throws LlmscopeConfigError here, at start-up).
    this.promptGuards = o.prompts.guards.guards.length > 0 ? PromptGuards.attach(this, o.prompts.guards, (name) => this.prompts.experiment(name), this.prompts.langfuse) : undefined;
    this.sampling?.attach();
    const served = (this.served = o.shutdownOnSignal.length > 0 ? new ServedServers() : undefined);
    if (served !== undefined) {
      this.removeSignalHook = installSignalHook(o.shutdownOnSignal, (appInCharge) => drainThenShutdown(() => this.requestsInFlight, (ms) => this.shutdown(ms), o.shutdownTimeoutMs, appInCharge ? undefined : served));
    }
    setFallbackOwner(this);
  }

  /** Whether failed steps and jobs are reported anywhere (a logger or Sentry is configured). */
  readonly reportsErrors: boolean;

  /**
   * Starts a request: creates its context (identity from `identify` or the headers), its server
   * span (continuing an incoming `traceparent`) and counts it in flight.
   *
   * @param method - the request method as received
   * @param url - the request target (path and query); the query is not recorded
   * @param headers - Node's lower-cased request headers
   * @param request - the framework's request object, passed to `identify`
   */
  startRequest(method: string, url: string | undefined, headers: IncomingHttpHeaders, request: unknown): RequestContext {
    const ctx = new RequestContext(performance.now(), this.limits, this);
    ctx.method = normaliseMethod(method);
    const max = this.limits.maxValueLength;
    const identify = this.options.identify;
    if (identify !== undefined) {
      try {
        const who = identify(request);
        if (who) {
          ctx.userId = clipString(who.userId, max);
          ctx.sessionId = clipString(who.sessionId, max);
        }
      } catch (error) {
        // A throwing identify() must not fail the request; it is simply anonymous.
        this.hookFailures.failed('identify', error);
      }
    } else {
      ctx.userId = clipString(headerValue(headers[this.options.userHeader]), max);
      ctx.sessionId = clipString(headerValue(headers[this.options.sessionHeader]), max);
    }
    // Identity first: an excluded request's handlers still see their user and session.
    if (this.excluding && this.isExcluded(method, url)) return this.excludedContext(ctx);
    this.requestsInFlight++;
    if (this.served !== undefined) this.served.note(request);
    if (this.tracer) {
      const active = context.active();
      // Extracting costs ~2 µs; skip it when there is nothing to continue.
      const parent = headers.traceparent === undefined ? active : propagation.extract(active, headers);
      const own = this.ownTracer;
      // With llmscope's tracer, no attributes are built for a span nobody reads (an id-only span).
      const span = own !== undefined
        ? own.startRequestSpan(ctx.method, parent, ctx.startTime, own.records ? requestAttributes(ctx.method, url) : undefined)
        : this.tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, attributes: requestAttributes(ctx.method, url) }, parent);
      ctx.span = span;
      ctx.otelContext = bindRequestContext(ctx, parent, span);
    } else {
      ctx.otelContext = bindContext(ctx, undefined);
    }
    return ctx;
  }

  /**
   * Whether `metrics.exclude` excludes a request by its path (exact paths, then the predicates;
   * the query is ignored). Route templates with parameters are decided later, on the route.
   *
   * @param method - the request method as received
   * @param url - the request target (path and query)
   */
  isExcluded(method: string | undefined, url: string | undefined): boolean {
    if (!this.excluding) return false;
    const path = pathOf(url);
    if (this.excludePaths !== undefined && this.excludePaths.has(path)) return true;
    const predicate = this.excludeRequest;
    if (predicate === undefined) return false;
    try {
      return predicate(method ?? 'GET', path) === true;
    } catch {
      // A throwing predicate must not fail the request: it is counted as usual.
      return false;
    }
  }

  /**
   * An excluded request's context: finished from the start (no metrics, no span, no log line),
   * with tracing suppressed so that steps and LLM calls in it start no trace of their own.
   */
  private excludedContext(ctx: RequestContext): RequestContext {
    ctx.finished = true;
    ctx.otelContext = bindContext(ctx, this.tracer === undefined ? undefined : suppressTracing(context.active()));
    return ctx;
  }

  /** Runs `fn` (the rest of the framework's handling) inside the request's context and span. */
  run<T>(ctx: RequestContext, fn: () => T): T {
    return runInContext(ctx, fn);
  }

  /**
   * Records the route template (`/users/:id`) once the framework has matched it; `undefined`
   * marks the request unmatched again (a framework's not-found handler reached after a match).
   */
  setRoute(ctx: RequestContext, route: string | undefined): void {
    ctx.route = route;
  }

  /** Records an error that reached the framework's error handling (the first one is kept). */
  recordError(ctx: RequestContext, error: unknown): void {
    if (ctx.error === undefined && error !== undefined && error !== null) ctx.error = error;
  }

  /**
   * Ends a request with the status code sent: records the HTTP metrics and ends the server span
   * (ERROR for 5xx; the exception event for a recorded error). Idempotent.
   */
  finishRequest(ctx: RequestContext, statusCode: number): void {
    if (ctx.finished) return;
    ctx.finished = true;
    this.requestsInFlight--;
    const entry = this.routes.get(ctx.route);
    const end = performance.now();
    const ms = end - ctx.startTime;
    if (this.http && !entry.excluded) this.http.observe(entry, ctx.method, statusCode, ms / 1000, ctx.tags, ctx);
    // A template in `metrics.exclude` is known only now: not counted, not logged; its span was
    // started before the route was known and ends as usual (docs/metrics.md).
    if (this.telemetry !== undefined && !entry.excluded) this.telemetry.requestFinished(ctx, statusCode, entry.route, ms);
    if (this.requestSinks.length !== 0 && !entry.excluded) this.emitRequest(ctx, statusCode, entry.route, entry.matched, ms);
    const span = ctx.span;
    if (span === undefined) return;
    // A span that records nothing (no consumer, or not sampled): its name and attributes go nowhere.
    if (!span.isRecording()) {
      span.end();
      return;
    }
    span.updateName(entry.spanName(ctx.method));
    if (entry.matched) span.setAttribute('http.route', entry.route);
    span.setAttribute('http.response.status_code', statusCode);
    if (ctx.userId !== undefined) span.setAttribute(COMMON.userId, ctx.userId);
    if (ctx.sessionId !== undefined) span.setAttribute(COMMON.sessionId, ctx.sessionId);
    if (ctx.feature !== undefined) span.setAttribute(LLMSCOPE.feature, ctx.feature);
    if (ctx.promptName !== undefined) span.setAttribute(LLMSCOPE.promptName, ctx.promptName);
    if (ctx.promptVersion !== undefined) span.setAttribute(LLMSCOPE.promptVersion, ctx.promptVersion);
    const llm = ctx.llm;
    if (llm !== undefined) {
      span.setAttributes({
        [LLMSCOPE.requestLlmCalls]: llm.calls,
        [LLMSCOPE.requestInputTokens]: llm.inputTokens,
        [LLMSCOPE.requestOutputTokens]: llm.outputTokens,
        [LLMSCOPE.requestCostUsd]: llm.costUsd,
      });
    }
    if (ctx.tags !== undefined) {
      const attrs: Attributes = {};
      for (const key in ctx.tags) attrs[LLMSCOPE.tagPrefix + key] = ctx.tags[key];
      span.setAttributes(attrs);
    }
    if (ctx.error !== undefined) {
      const error = ctx.error;
      span.recordException(error instanceof Error ? error : String(error));
      if (statusCode >= 500) span.setAttribute('error.type', errorType(error));
    }
    if (statusCode >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error instanceof Error ? ctx.error.message : undefined });
      if (ctx.error === undefined) span.setAttribute('error.type', String(statusCode));
    }
    // A lean span ends at the reading the duration came from (one clock reading, not two).
    if (span instanceof LeanSpan) span.endAt(end);
    else span.end();
  }

  /** Builds the request record once and hands it to every request sink. */
  private emitRequest(ctx: RequestContext, statusCode: number, route: string, matched: boolean, ms: number): void {
    const record: RequestRecord = {
      method: ctx.method, route, matched, statusCode,
      startTimeMs: performance.timeOrigin + ctx.startTime, durationMs: ms,
      userId: ctx.userId, sessionId: ctx.sessionId, feature: ctx.feature,
      promptName: ctx.promptName, promptVersion: ctx.promptVersion,
      traceId: ctx.traceId, llm: ctx.llm, error: ctx.error,
    };
    for (const sink of this.requestSinks) {
      try {
        sink(record);
      } catch {
        // A throwing sink must not fail the request or starve the other sinks.
      }
    }
  }

  /**
   * Adds a consumer of finished requests (route, status, duration, user, session, trace id, LLM
   * totals), called when each response closes; own routes and excluded requests are not
   * included. Returns a function that removes it. Nothing is built per request while no sink is set.
   */
  onRequest(sink: RequestSink): () => void {
    this.requestSinks.push(sink);
    return () => {
      const i = this.requestSinks.indexOf(sink);
      if (i >= 0) this.requestSinks.splice(i, 1);
    };
  }

  /**
   * Adds an own route: every request whose target is `prefix` or continues it with `/` or `?` is
   * answered by `handler` before the app sees it, on every adapter built on the kit, and is not
   * app traffic (not counted, not traced). Returns a function that removes it.
   *
   * @param prefix - a path such as `/llmscope` (no trailing slash)
   */
  addRoute(prefix: string, handler: OwnRouteHandler): () => void {
    checkPrefix(prefix);
    if (typeof handler !== 'function') throw new TypeError('llmscope: addRoute needs a handler function');
    if (this.ownRoutes.some((r) => r.prefix === prefix)) throw new TypeError(`llmscope: an own route is already mounted at ${prefix}`);
    const route: OwnRoute = { prefix, handler };
    this.ownRoutes.push(route);
    return () => {
      const i = this.ownRoutes.indexOf(route);
      if (i >= 0) this.ownRoutes.splice(i, 1);
    };
  }

  /**
   * Answers a request to the metrics endpoint (adapters call it for `GET metricsPath`).
   * @param authorization - the request's `Authorization` header
   * @param accept - the request's `Accept` header: `application/openmetrics-text` gets OpenMetrics, else Prometheus text 0.0.4
   */
  handleMetrics(authorization: string | undefined, accept?: string): Promise<HandlerResponse> {
    if (this.metricsHandler === undefined) return Promise.resolve({ status: 404, headers: {}, body: '' });
    return this.metricsHandler(authorization, accept);
  }

  /**
   * Adds a consumer of this instance's LLM-call records (every call, sampled or not, tracing on
   * or off), after the built-in ones (metrics, cost attribution, log line, Sentry). Returns a
   * function that removes it. Sinks run when a call ends: keep them cheap.
   */
  onLlmCall(sink: LlmCallSink): () => void {
    return this.genai.addSink(sink);
  }

  /**
   * Cost and tokens per user, session, feature and prompt version: the `limit` (default 20) most
   * expensive keys of each, the rest summed as `other`. `undefined` with `llm.attribution: false`.
   */
  costReport(limit?: number): CostReport | undefined {
    return this.genai.costs?.snapshot(limit);
  }

  /** Counters of the tail sampler (kept, dropped, buffered); `undefined` when it is off. */
  samplingStats(): TailSamplerStats | undefined {
    return this.sampling?.tail?.stats;
  }

  /**
   * Records a score for the current LLM call or trace, or for a given trace id (see the `score()`
   * function). Never throws; returns the recorded score or why it was dropped.
   */
  score(input: ScoreInput): ScoreRecord | string {
    const current = getContext();
    const call = currentLlmCall.getStore()?.span?.spanContext();
    return this.scores.record(input, {
      ctx: current !== undefined && current.owner === this ? current : undefined,
      call: call === undefined ? undefined : { traceId: call.traceId, spanId: call.spanId },
    });
  }

  /**
   * Gets a prompt from this instance's registry (see the `getPrompt()` function): inside a
   * request it also sets the request's prompt name and version.
   */
  getPrompt(name: string, options?: GetPromptOptions): Promise<Prompt> {
    return this.prompts.get(name, options);
  }

  /**
   * Listens to the prompt guards and rollouts (a rollback with the rule and its numbers, a
   * rollout step, a hold); returns a function that removes the listener. A no-op without
   * `prompts.guards` / `prompts.rollouts`.
   */
  onPromptGuard(listener: GuardListener): () => void {
    return this.promptGuards?.on(listener) ?? (() => undefined);
  }

  /** The guard or rollout state of a prompt (weights, step, each rule's last outcome); undefined when it has none. */
  promptGuardStatus(prompt: string): GuardStatus | undefined {
    return this.promptGuards?.get(prompt)?.status();
  }

  /** Adds a consumer of this instance's scores; returns a function that removes it. */
  onScore(sink: ScoreSink): () => void {
    return this.scores.addSink(sink);
  }

  /** Retrieval steps keep their documents for evaluators (with content capture on), from now on. */
  private captureDocuments(): void {
    const o = this.options;
    if (this.documentCapture === undefined && o.llm.captureContent && o.evaluations.maxDocuments > 0) {
      this.documentCapture = { maxDocuments: o.evaluations.maxDocuments, maxLength: o.llm.maxContentLength };
    }
  }

  /** The evaluator runner, created on first need (configured evaluators, or one call's). */
  private evaluationRunner(): EvaluationRunner {
    const o = this.options;
    this.evaluations ??= new EvaluationRunner({ owner: this, limits: this.limits, tracingOn: this.tracingOn, registry: this.registry, scores: this.scores, captureContent: o.llm.captureContent }, o.evaluations);
    return this.evaluations;
  }

  /**
   * Runs one call's own evaluators (`traceLLM({ evaluators })`) on its record. The array is
   * validated once (cached by identity); an invalid one is reported once as a warning and
   * skipped: a bad evaluator never fails the call. @internal
   */
  evaluateCall(record: LlmCallRecord, evaluators: readonly Evaluator[]): void {
    let resolved = this.callEvaluators.get(evaluators);
    if (resolved === undefined) {
      try {
        resolved = resolveEvaluatorList('traceLLM evaluators', evaluators, this.options.evaluations.timeoutMs);
      } catch (error) {
        resolved = null;
        process.emitWarning(`${error instanceof Error ? error.message : String(error)} The call's evaluators are skipped.`, 'LlmscopeWarning');
      }
      this.callEvaluators.set(evaluators, resolved);
    }
    if (resolved === null) return;
    // Documents are kept from the first call with evaluators on: later requests' calls get them.
    this.captureDocuments();
    this.evaluationRunner().offer(record, resolved);
  }

  /** Reports a failed step or job (called by `step()` and `runWithContext()`). @internal */
  reportError(error: unknown, ctx: RequestContext | undefined, origin: ErrorOrigin): void {
    this.telemetry?.reportError(error, ctx, origin);
  }

  /** Reports a failed `validateOutput` to the logs and Sentry (called by `validateOutput`). @internal */
  reportValidationFailure(failure: ValidationFailure, ctx: RequestContext | undefined): void {
    this.telemetry?.validationFailed(failure, ctx);
  }

  /** {@link step}, recorded by this instance. */
  step<T>(name: string, fn: () => T, attributes?: Attributes): T {
    return this.run(this.detachedContext(), () => step(name, fn, attributes));
  }

  /** {@link traceLLM}, recorded by this instance. */
  traceLLM<T>(options: LlmCallOptions, fn: (call: LlmCall) => T): T {
    return this.run(this.detachedContext(), () => traceLLM(options, fn));
  }

  /** The current request's context if it belongs to this instance, else a fresh one. */
  private detachedContext(): RequestContext {
    const current = getContext();
    if (current !== undefined && current.owner === this) return current;
    const ctx = new RequestContext(performance.now(), this.limits, this);
    ctx.otelContext = bindContext(ctx, context.active());
    ctx.finished = true;
    return ctx;
  }

  /**
   * Flushes every span processor and exporter within `timeoutMs` (default `shutdownTimeoutMs`,
   * 5 s), then detaches this instance's exporters; call it before the process exits. Never rejects.
   */
  async shutdown(timeoutMs = this.options.shutdownTimeoutMs): Promise<void> {
    if (isFallbackOwner(this)) setFallbackOwner(undefined);
    this.removeSignalHook?.();
    this.removeSignalHook = undefined;
    this.promptGuards?.close();
    // Gauges of a registry shared with other instances read these: detached, they can be freed.
    this.budgets?.close();
    this.genai.close();
    this.http?.close();
    const deadline = Date.now() + timeoutMs;
    // Evaluations first (half the budget at most): their scores and judge spans are flushed next.
    if (this.evaluations !== undefined) await this.evaluations.close(Math.max(1, Math.floor(timeoutMs / 2)));
    await settleWithin(flushTracing(), Math.max(1, deadline - Date.now()));
    // Traces still open are decided now, so their kept spans reach the exporters flushed next.
    this.sampling?.close();
    if (this.telemetry !== undefined) await this.telemetry.shutdown(Math.max(1, deadline - Date.now()));
    if (this.metricsServer !== undefined) await settleWithin(this.metricsServer.close(), Math.max(1, deadline - Date.now()));
  }
}

/** A request span's attributes at its start (semantic conventions: method, path without query, scheme). */
function requestAttributes(method: string, url: string | undefined): Attributes {
  const path = pathOf(url);
  return {
    'http.request.method': method,
    'url.path': path.length > 2048 ? path.slice(0, 2048) : path,
    'url.scheme': 'http',
  };
}

/** The path of a request target: the query dropped (a slice only when there is one). */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Creates an llmscope instance (adapters do this for you). Throws {@link LlmscopeConfigError} on bad options. */
export function createLlmscope(options?: LlmscopeOptions<never>): Llmscope {
  return new Llmscope(options);
}
