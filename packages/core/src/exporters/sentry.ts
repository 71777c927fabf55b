import { LlmscopeConfigError } from '../config/errors';
import type { Redactor } from '../logging/redact';
import type { TelemetryHealth } from './health';
import { loadOptional } from './optional';
import { AppClientLimiter } from './sentry-app-client';
import { BoundedSentryTransport } from './sentry-transport';
import type { ResolvedExporters } from './options';

type SentryNode = typeof import('@sentry/node');
type SentryScope = InstanceType<SentryNode['Scope']>;
// Sentry's types, taken from @sentry/node's own exports (no deep imports).
type Client = NonNullable<ReturnType<SentryNode['getClient']>>;
type Event = Parameters<SentryNode['captureEvent']>[0];
type EventHint = NonNullable<Parameters<SentryNode['captureEvent']>[1]>;

/** An event llmscope builds itself (a validation failure); kept free of Sentry's types so that apps without @sentry/node type-check. */
export interface ReportEvent {
  message: string;
  level: 'error' | 'warning';
  extra?: Record<string, unknown>;
}

/** A file attached to a {@link ReportEvent}. */
export interface ReportAttachment {
  filename: string;
  data: string;
  contentType?: string;
}

/** What a Sentry event is tagged with: the request's identity and route, and the trace it belongs to. */
export interface SentryEventContext {
  userId?: string;
  sessionId?: string;
  route?: string;
  method?: string;
  statusCode?: number;
  feature?: string;
  promptName?: string;
  promptVersion?: string;
  traceId?: string;
  spanId?: string;
  tags?: Record<string, string>;
}

const NAME = 'sentry';

/**
 * Reports errors to Sentry through `@sentry/node` (loaded only when Sentry is configured). When
 * the app initialised Sentry itself and gave llmscope no DSN, its client is used; otherwise
 * llmscope creates a client of its own that is NOT installed globally: no second OpenTelemetry
 * provider, no global error handlers, the app's error flow untouched. Either way the in-flight
 * cap and the timeout hold: llmscope's own transport bounds its client; through the app's client
 * {@link AppClientLimiter} bounds what llmscope sends. Events carry user,
 * session, route, prompt version and the OpenTelemetry trace id (as Sentry's trace context),
 * so an event links to its trace.
 */
export class SentryReporter {
  private readonly sentry: SentryNode;
  private readonly client: Client;
  private readonly ownsClient: boolean;
  /** The cap and timeout on what llmscope sends through the app's client (undefined with llmscope's own client: its transport holds them). */
  private readonly limiter: AppClientLimiter | undefined;
  /** llmscope's own client's transport (undefined with the app's client). */
  private readonly transport: BoundedSentryTransport | undefined;
  /** Errors already reported (weakly held: nothing kept alive for this). */
  private readonly reported = new WeakSet<object>();

  constructor(
    config: NonNullable<ResolvedExporters['sentry']>,
    private readonly health: TelemetryHealth,
    private readonly redactor: Redactor,
    maxInFlight: number,
    timeoutMs: number,
    /** Longest raw output attached to a validation failure. */
    readonly maxOutputLength: number = config.maxOutputLength,
  ) {
    const sentry = loadOptional<SentryNode>('@sentry/node', 'the Sentry exporter');
    this.sentry = sentry;
    const existing = sentry.getClient();
    // The app's own client is used when the app initialised Sentry and gave llmscope no other
    // DSN (SENTRY_DSN is read by both): one client, its integrations and its dedupe.
    if (config.dsn === undefined || (existing !== undefined && existing.getOptions().dsn === config.dsn)) {
      if (existing === undefined) throw new LlmscopeConfigError('`exporters.sentry` is set without a DSN and Sentry.init() was not called: set `exporters.sentry.dsn` or SENTRY_DSN, or call Sentry.init() before llmscope starts.');
      this.client = existing;
      this.ownsClient = false;
      this.limiter = new AppClientLimiter(existing, health, maxInFlight, timeoutMs);
      this.transport = undefined;
    } else {
      const transport = new BoundedSentryTransport(sentry, health, maxInFlight, timeoutMs);
      const client = new sentry.NodeClient({
        dsn: config.dsn,
        environment: config.environment,
        release: config.release,
        transport: transport.factory,
        stackParser: sentry.defaultStackParser,
        integrations: [sentry.linkedErrorsIntegration(), sentry.dedupeIntegration()],
        sendClientReports: false,
        // No module-loader hooks: llmscope only reports errors, it instruments nothing through Sentry.
        enableRuntimeChannelInjection: false,
      });
      client.init();
      this.client = client;
      this.ownsClient = true;
      this.limiter = undefined;
      this.transport = transport;
    }
  }

  private scope(context: SentryEventContext): SentryScope {
    const scope = new this.sentry.Scope();
    scope.setClient(this.client);
    if (context.userId !== undefined) scope.setUser({ id: context.userId });
    const tags: Record<string, string> = { ...context.tags };
    if (context.route !== undefined) tags.route = context.route;
    if (context.method !== undefined) tags['http.method'] = context.method;
    if (context.statusCode !== undefined) tags['http.status_code'] = String(context.statusCode);
    if (context.sessionId !== undefined) tags['session.id'] = context.sessionId;
    if (context.feature !== undefined) tags.feature = context.feature;
    if (context.promptName !== undefined) tags['prompt.name'] = context.promptName;
    if (context.promptVersion !== undefined) tags['prompt.version'] = context.promptVersion;
    scope.setTags(tags);
    if (context.traceId !== undefined) {
      // Sentry's trace context is the OpenTelemetry trace: same 32-hex trace id, the span that failed.
      scope.setPropagationContext({ traceId: context.traceId, propagationSpanId: context.spanId, sampleRand: Math.random(), sampled: true });
      scope.setContext('otel', { trace_id: context.traceId, span_id: context.spanId });
    }
    // Secrets and e-mail addresses never leave the process, whatever the error message says.
    scope.addEventProcessor((event) => this.redactEvent(event));
    return scope;
  }

  /**
   * Every part of an event that can hold app text: the error message and its stack (source lines
   * and local variables included), tags, extra, contexts, the user, and what the app's own client
   * merges in from its scopes (breadcrumbs, the request with its URL, headers and body). Runs after
   * the client's integrations (they add the request and breadcrumbs), on the error path only.
   */
  private redactEvent(event: Event): Event {
    const r = this.redactor;
    if (!r.active) return event;
    if (event.message !== undefined) event.message = r.string(event.message);
    if (event.logentry !== undefined) event.logentry = r.value(event.logentry) as Event['logentry'];
    if (event.transaction !== undefined) event.transaction = r.string(event.transaction);
    for (const value of event.exception?.values ?? []) {
      if (value.value !== undefined) value.value = r.string(value.value);
      for (const frame of value.stacktrace?.frames ?? []) {
        if (frame.context_line !== undefined) frame.context_line = r.string(frame.context_line);
        if (frame.pre_context !== undefined) frame.pre_context = frame.pre_context.map((line) => r.string(line));
        if (frame.post_context !== undefined) frame.post_context = frame.post_context.map((line) => r.string(line));
        if (frame.vars !== undefined) frame.vars = r.value(frame.vars) as typeof frame.vars;
      }
    }
    if (event.extra !== undefined) event.extra = r.value(event.extra) as Event['extra'];
    if (event.contexts !== undefined) event.contexts = r.value(event.contexts) as Event['contexts'];
    if (event.user !== undefined) event.user = r.value(event.user) as Event['user'];
    if (event.tags !== undefined) event.tags = r.value(event.tags) as Event['tags'];
    if (event.breadcrumbs !== undefined) event.breadcrumbs = r.value(event.breadcrumbs) as Event['breadcrumbs'];
    if (event.request !== undefined) event.request = r.value(event.request) as Event['request'];
    return event;
  }

  /** Reports an error that ended a request. The error object itself is not modified. */
  captureError(error: unknown, context: SentryEventContext): void {
    // One event per error: a failed LLM call or step that also fails its request is reported
    // where it happened (the most specific context), not again by the request.
    if (error !== null && typeof error === 'object') {
      if (this.reported.has(error)) return;
      this.reported.add(error);
    }
    const id = this.limiter?.acquire();
    if (this.limiter !== undefined && id === undefined) return;
    try {
      this.client.captureException(error, id === undefined ? { originalException: error } : { originalException: error, event_id: id }, this.scope(context));
    } catch (e) {
      if (id !== undefined) this.limiter?.release(id);
      this.health.failed(NAME, e);
    }
  }

  /** Reports an event built by llmscope (a validation failure). */
  captureEvent(event: ReportEvent, context: SentryEventContext, attachments: ReportAttachment[] = []): void {
    const id = this.limiter?.acquire();
    if (this.limiter !== undefined && id === undefined) return;
    try {
      const hint: EventHint = id === undefined ? { attachments } : { attachments, event_id: id };
      this.client.captureEvent(event as Event, hint, this.scope(context));
    } catch (e) {
      if (id !== undefined) this.limiter?.release(id);
      this.health.failed(NAME, e);
    }
  }

  /** Sends what is pending, within `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    try {
      await this.client.flush(timeoutMs);
    } catch {
      // Telemetry never throws into shutdown.
    }
  }

  /**
   * Flushes and, for llmscope's own client, closes it. Events still in flight after `timeoutMs`
   * are counted as dropped.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.ownsClient) {
      await Promise.resolve(this.client.close(timeoutMs)).catch(() => undefined);
      this.transport?.abandon();
    } else {
      await this.flush(timeoutMs);
      this.limiter?.close();
    }
  }
}
