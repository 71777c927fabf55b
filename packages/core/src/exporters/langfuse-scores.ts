import { randomUUID } from 'node:crypto';
import type { ScoreRecord } from '../evals/score';
import type { Redactor } from '../logging/redact';
import type { TelemetryHealth } from './health';
import { untraced } from '../tracing/untraced';
import { loadOptional } from './optional';
import type { ResolvedExporters } from './options';
import type { QueueLimits } from './queue';

type LangfuseClientModule = typeof import('@langfuse/client');
type Api = InstanceType<LangfuseClientModule['LangfuseClient']>['api'];
type IngestionEvent = Parameters<Api['ingestion']['batch']>[0]['batch'][number];

const NAME = 'langfuse_scores';

/**
 * Sends scores to Langfuse, linked to their trace, observation (the scored span) and session,
 * through `@langfuse/client`'s API client (its ingestion batch endpoint), behind llmscope's own
 * bounded queue: a full queue or a failing Langfuse drops scores, counted in
 * `llmscope_telemetry_dropped_total{exporter="langfuse_scores"}`, and never throws.
 */
export class LangfuseScoreExporter {
  private readonly api: Api;
  private queue: IngestionEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    config: NonNullable<ResolvedExporters['langfuse']>,
    private readonly limits: QueueLimits,
    private readonly health: TelemetryHealth,
    private readonly redactor: Redactor,
  ) {
    const { LangfuseClient } = loadOptional<LangfuseClientModule>('@langfuse/client', 'Langfuse scores');
    this.api = new LangfuseClient({ publicKey: config.publicKey, secretKey: config.secretKey, baseUrl: config.baseUrl }).api;
  }

  /** A score sink. */
  readonly record = (s: ScoreRecord): void => {
    if (s.traceId === undefined && s.sessionId === undefined) return;
    if (this.queue.length >= this.limits.maxQueueSize) {
      this.health.dropped(NAME, 1);
      return;
    }
    this.queue.push({
      id: randomUUID(),
      type: 'score-create',
      timestamp: new Date(s.timestampMs).toISOString(),
      body: {
        name: s.name,
        value: typeof s.value === 'boolean' ? (s.value ? 1 : 0) : s.value,
        dataType: s.dataType,
        traceId: s.target === 'session' ? undefined : s.traceId,
        observationId: s.target === 'call' ? s.spanId : undefined,
        sessionId: s.target === 'session' ? s.sessionId : undefined,
        comment: s.comment === undefined ? undefined : this.redactor.string(s.comment),
        metadata: { source: s.source, evaluator: s.evaluator },
      },
    } as IngestionEvent);
    if (this.queue.length >= this.limits.maxBatchSize) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.limits.scheduledDelayMs);
      this.timer.unref();
    }
  };

  /** Sends what is queued (one batch request per `maxBatchSize`). Never rejects. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const send = async (): Promise<void> => {
      for (let i = 0; i < batch.length; i += this.limits.maxBatchSize) {
        const part = batch.slice(i, i + this.limits.maxBatchSize);
        try {
          const res = await this.api.ingestion.batch({ batch: part }, { timeoutInSeconds: this.limits.exportTimeoutMs / 1000, maxRetries: 0 });
          if (res.errors.length > 0) {
            this.health.dropped(NAME, res.errors.length);
            this.health.failed(NAME, new Error(res.errors[0]?.message ?? 'rejected'));
          }
        } catch (error) {
          this.health.dropped(NAME, part.length);
          this.health.failed(NAME, error);
        }
      }
    };
    // Scores are flushed from inside requests too: not traced, no traceparent.
    this.inFlight = untraced(send);
    await this.inFlight;
    this.inFlight = undefined;
  }
}
