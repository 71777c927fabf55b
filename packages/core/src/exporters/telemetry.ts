import { trace, type SpanContext } from '@opentelemetry/api';
import type { ErrorOrigin } from '../context/context';
import type { ValidationFailure } from '../genai/owner';
import type { LlmCallRecord } from '../genai/record';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Registry } from 'prom-client';
import type { RequestContext } from '../context/context';
import { TelemetryHealth, processWarning, type WarnSink } from './health';
import { LangfuseExportProcessor } from './langfuse';
import type { ResolvedExporters } from './options';
import { createOtlpProcessor } from './otlp';
import { BoundedExportProcessor } from './queue';
import { SentryReporter, type SentryEventContext } from './sentry';
import { llmLogLine } from '../logging/llm-log';
import type { ResolvedLogging } from '../logging/options';
import { Redactor, type RedactOptions } from '../logging/redact';
import { llmscopeSpanProcessor, type FanoutSpanProcessor } from '../tracing/provider';
import { GEN_AI, LLMSCOPE } from '../genai/schema';
import { settleWithin } from '../context/settle';
import { LangfuseScoreExporter } from './langfuse-scores';
import type { ScoreRecord } from '../evals/score';

/** What {@link Telemetry} is built from (a slice of the resolved options). */
export interface TelemetryConfig {
  exporters: ResolvedExporters;
  logging: ResolvedLogging | undefined;
  redact: RedactOptions | false;
  tracingOn: boolean;
  /**
   * Where the trace exporters and the LLM log processor go: the sampling pipeline's export stage
   * (behind the tail sampler). Default `llmscopeSpanProcessor`. LLM-call log lines and Sentry
   * reports come from the LLM-call records, not from spans: whatever the sampling.
   */
  exportStage?: FanoutSpanProcessor;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more]` : text;
}

/**
 * Everything that leaves the process besides metrics: exporters (OTLP, Langfuse, Sentry), log
 * lines, and the redaction and failure accounting they share. Built only when something is
 * configured: an app with no exporter and no logging pays nothing per request.
 */
export class Telemetry {
  readonly health: TelemetryHealth;
  readonly redactor: Redactor;
  readonly logging: ResolvedLogging | undefined;
  readonly sentry: SentryReporter | undefined;
  private readonly processors: SpanProcessor[] = [];
  private readonly langfuseConfig: ResolvedExporters['langfuse'];
  private readonly queueLimits: ResolvedExporters['queue'];
  /** Langfuse scores: created with the first score (`@langfuse/client` is loaded only then); `null` when it cannot be. */
  private langfuseScores: LangfuseScoreExporter | null | undefined;
  private readonly stage: FanoutSpanProcessor;
  private closed = false;

  private constructor(config: TelemetryConfig, registry: Registry | undefined) {
    this.logging = config.logging;
    this.redactor = new Redactor(config.redact);
    const logger = config.logging?.logger;
    const warn: WarnSink = logger === undefined ? processWarning : (fields, message) => logger.warn(fields, message);
    this.health = new TelemetryHealth(registry, warn, config.exporters.failureLogIntervalMs);
    const { otlp, langfuse, sentry, queue } = config.exporters;
    this.langfuseConfig = langfuse;
    this.queueLimits = queue;
    if (config.tracingOn) {
      if (otlp !== undefined) this.processors.push(createOtlpProcessor(otlp, queue, this.health, this.redactor));
      if (langfuse !== undefined) this.processors.push(new LangfuseExportProcessor(langfuse, queue, this.health, this.redactor));
    }
    if (sentry !== undefined) {
      this.sentry = new SentryReporter(sentry, this.health, this.redactor, Math.min(queue.maxQueueSize, 64), queue.exportTimeoutMs);
    }
    this.stage = config.exportStage ?? llmscopeSpanProcessor;
    for (const p of this.processors) this.stage.add(p);
  }

  /** Builds the telemetry of an instance, or returns undefined when nothing is configured. */
  static create(config: TelemetryConfig, registry: Registry | undefined): Telemetry | undefined {
    const e = config.exporters;
    // Langfuse also takes scores, with tracing on or off.
    const exporting = (config.tracingOn && e.otlp !== undefined) || e.langfuse !== undefined || e.sentry !== undefined;
    if (!exporting && config.logging === undefined) return undefined;
    return new Telemetry(config, registry);
  }

  /** The span processors this instance added to `llmscopeSpanProcessor` (exporters). */
  get spanProcessors(): readonly SpanProcessor[] {
    return this.processors;
  }

  /**
   * A request ended: one log line (when request logging is on) and, for a server error, a
   * Sentry event. The error is only read, never changed or rethrown.
   */
  requestFinished(ctx: RequestContext, statusCode: number, route: string, durationMs: number): void {
    const span = ctx.span?.spanContext();
    const logging = this.logging;
    if (logging !== undefined && logging.requests) {
      const r = this.redactor;
      const line: Record<string, unknown> = {
        event: 'http_request',
        method: ctx.method,
        route,
        status: statusCode,
        duration_ms: Math.round(durationMs * 100) / 100,
        user_id: ctx.userId === undefined ? undefined : r.string(ctx.userId),
        session_id: ctx.sessionId === undefined ? undefined : r.string(ctx.sessionId),
        trace_id: span?.traceId,
        span_id: span?.spanId,
      };
      if (ctx.feature !== undefined) line.feature = ctx.feature;
      if (ctx.promptName !== undefined) line.prompt_name = ctx.promptName;
      if (ctx.promptVersion !== undefined) line.prompt_version = ctx.promptVersion;
      const llm = ctx.llm;
      if (llm !== undefined) {
        line.llm_calls = llm.calls;
        line.input_tokens = llm.inputTokens;
        line.output_tokens = llm.outputTokens;
        line.cost_usd = llm.costUsd;
      }
      if (ctx.error !== undefined) line.error = r.value(ctx.error instanceof Error ? `${ctx.error.name}: ${ctx.error.message}` : String(ctx.error));
      try {
        if (statusCode >= 500) logging.logger.error(line, 'request');
        else logging.logger.info(line, 'request');
      } catch {
        // A broken logger must not fail the request.
      }
    }
    if (this.sentry !== undefined && ctx.error !== undefined && statusCode >= 500) {
      this.sentry.captureError(ctx.error, this.eventContext(ctx, span, { route, method: ctx.method, statusCode }));
    }
  }

  private eventContext(ctx: RequestContext | undefined, span: SpanContext | undefined, extra: SentryEventContext = {}): SentryEventContext {
    return {
      ...extra,
      userId: ctx?.userId, sessionId: ctx?.sessionId, feature: ctx?.feature,
      promptName: ctx?.promptName, promptVersion: ctx?.promptVersion,
      traceId: span?.traceId, spanId: span?.spanId,
    };
  }

  /**
   * An LLM call ended (a sink of the LLM-call records): one log line, and a Sentry event for a
   * failed call, with the call's own trace and span ids. The same with tracing on or off.
   */
  llmCall(record: LlmCallRecord): void {
    const logging = this.logging;
    if (logging !== undefined && logging.llmCalls) {
      const line = llmLogLine(record, logging, this.redactor);
      try {
        if (record.outcome === 'error') logging.logger.warn(line, 'llm call');
        else logging.logger.info(line, 'llm call');
      } catch {
        // Logging never fails the app.
      }
    }
    if (this.sentry !== undefined && record.outcome === 'error') {
      this.sentry.captureError(record.error ?? new Error(record.errorType ?? 'LLM call failed'), {
        userId: record.userId, sessionId: record.sessionId, feature: record.feature,
        promptName: record.promptName, promptVersion: record.promptVersion,
        traceId: record.traceId, spanId: record.spanId,
        tags: {
          [GEN_AI.provider]: record.provider,
          [GEN_AI.requestModel]: record.model,
          [GEN_AI.operation]: record.operation,
          'llmscope.source': 'llm_call',
        },
      });
    }
  }

  /** A score was given (a sink of the scores): one log line, and a Langfuse score. */
  score(s: ScoreRecord): void {
    const logging = this.logging;
    if (logging !== undefined) {
      const line: Record<string, unknown> = { event: 'score', name: s.name, value: s.value, source: s.source, evaluator: s.evaluator, target: s.target };
      if (s.comment !== undefined) line.comment = this.redactor.string(s.comment);
      if (s.feature !== undefined) line.feature = s.feature;
      if (s.promptName !== undefined) line.prompt_name = s.promptName;
      if (s.promptVersion !== undefined) line.prompt_version = s.promptVersion;
      if (s.traceId !== undefined) line.trace_id = s.traceId;
      if (s.spanId !== undefined) line.span_id = s.spanId;
      if (s.sessionId !== undefined) line.session_id = this.redactor.string(s.sessionId);
      try {
        logging.logger.info(line, 'score');
      } catch {
        // Logging never fails the app.
      }
    }
    const config = this.langfuseConfig;
    if (config === undefined || this.closed) return;
    if (this.langfuseScores === undefined) {
      try {
        this.langfuseScores = new LangfuseScoreExporter(config, this.queueLimits, this.health, this.redactor);
      } catch (error) {
        // @langfuse/client not installed: scores stay in metrics, traces and logs.
        this.langfuseScores = null;
        this.health.failed('langfuse_scores', error);
      }
    }
    this.langfuseScores?.record(s);
  }

  /** A step or a job outside any request failed: an error line and a Sentry event. */
  reportError(error: unknown, ctx: RequestContext | undefined, origin: ErrorOrigin): void {
    const span = trace.getActiveSpan()?.spanContext() ?? ctx?.span?.spanContext();
    const logging = this.logging;
    if (logging !== undefined) {
      const line: Record<string, unknown> = {
        event: origin.source === 'step' ? 'step_failed' : 'job_failed',
        error: this.redactor.value(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
        trace_id: span?.traceId, span_id: span?.spanId,
      };
      if (origin.name !== undefined) line.step = origin.name;
      try {
        logging.logger.error(line, origin.source === 'step' ? 'step failed' : 'job failed');
      } catch {
        // Logging never fails the app.
      }
    }
    const tags: Record<string, string> = { 'llmscope.source': origin.source };
    if (origin.name !== undefined) tags[LLMSCOPE.step] = origin.name;
    this.sentry?.captureError(error, { ...this.eventContext(ctx, span), tags });
  }

  /** A `validateOutput` failed: a warning line and a Sentry event with the raw output attached (clipped, redacted). */
  validationFailed(failure: ValidationFailure, ctx: RequestContext | undefined): void {
    const span = trace.getActiveSpan()?.spanContext() ?? ctx?.span?.spanContext();
    const rawText = typeof failure.raw === 'string' ? failure.raw : safeJson(failure.raw);
    const logging = this.logging;
    if (logging !== undefined) {
      const line: Record<string, unknown> = {
        event: 'output_validation_failed', name: failure.name, issues: this.redactor.value(failure.issues),
        trace_id: span?.traceId, span_id: span?.spanId, prompt_name: ctx?.promptName, prompt_version: ctx?.promptVersion,
      };
      if (logging.captureContent) line.raw_output = clip(this.redactor.string(rawText), logging.maxContentLength);
      try {
        logging.logger.warn(line, 'output validation failed');
      } catch {
        // Never throws into the app.
      }
    }
    const sentry = this.sentry;
    if (sentry !== undefined) {
      const clipped = clip(this.redactor.string(rawText), sentry.maxOutputLength);
      sentry.captureEvent({
        message: `llmscope: model output failed validation${failure.name ? ` (${failure.name})` : ''}: ${failure.issues[0]?.message ?? 'invalid'}`,
        level: 'error',
        extra: { issues: failure.issues, raw_output: clipped },
      }, { ...this.eventContext(ctx, span), tags: { 'llmscope.source': 'validate_output', ...(failure.name ? { 'output.name': failure.name } : {}) } }, [
        { filename: 'model-output.txt', data: clipped, contentType: 'text/plain' },
      ]);
    }
  }

  /** Flushes every exporter within `timeoutMs`, then detaches them. Never rejects. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    // A hanging backend cannot hold shutdown past its budget.
    await settleWithin(Promise.allSettled(this.processors.map((p) => p.shutdown())), timeoutMs);
    // Whatever did not get out in time is counted as dropped (a no-op for a queue that emptied).
    for (const p of this.processors) {
      this.stage.remove(p);
      queueOf(p)?.abandon();
    }
    if (this.langfuseScores) await settleWithin(this.langfuseScores.flush(), Math.max(1, deadline - Date.now()));
    if (this.sentry !== undefined) await this.sentry.close(Math.max(1, deadline - Date.now()));
  }
}

/** The bounded queue behind one of this instance's exporters: the processor itself or Langfuse's. */
function queueOf(p: SpanProcessor): BoundedExportProcessor | undefined {
  if (p instanceof BoundedExportProcessor) return p;
  if (p instanceof LangfuseExportProcessor) return p.queue;
  return undefined;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
