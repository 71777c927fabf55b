import { Counter, Gauge, type Registry } from 'prom-client';
import { CostAttribution } from './cost/attribution';
import { clipLabel, LabelCap } from './labels';
import type { RequestContext } from '../context/context';
import { counter, gauge } from '../http/prom';
import { LlmMetrics } from './metrics';
import type { ResolvedLlmOptions } from './options';
import { PriceBook } from './cost/prices';
import type { LlmCallRecord, LlmCallSink } from './record';
import type { LlmUsage } from './usage';

/**
 * Queue callbacks of every instance using a gauge: two instances sharing one registry share the
 * gauge, whose collect() was created by the first, so it must read the second's queues too.
 */
const queuesByGauge = new WeakMap<Gauge<'queue'>, Set<Map<string, () => number>>>();

/** Adds a finished call to its request's totals (calls, tokens, cost). */
function addToRequest(record: LlmCallRecord, ctx: RequestContext | undefined): void {
  if (ctx === undefined) return;
  const totals = (ctx.llm ??= { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  totals.calls++;
  if (record.spanId !== undefined) ctx.lastCallSpanId = record.spanId;
  if (record.inputTokens !== undefined) totals.inputTokens += record.inputTokens;
  if (record.outputTokens !== undefined) totals.outputTokens += record.outputTokens;
  if (typeof record.costUsd === 'number') totals.costUsd += record.costUsd;
}

/**
 * Asked before an LLM call starts (budgets that enforce): returns the model to call (the
 * requested one or a cheaper one), or throws to reject the call before the provider is called.
 */
export type LlmCallGate = (feature: string | undefined, userId: string | undefined, model: string, provider: string | undefined) => string;

/**
 * The LLM side of one llmscope instance: its price book (table + the app's overrides), its LLM
 * metrics (when metrics are on), its cost attribution, the cache and queue helpers, and the
 * sinks every finished LLM-call record is handed to ({@link emit}). `Llmscope` creates one;
 * `traceLLM`, the instrumented clients and the foreign GenAI span processor reach it through the
 * request's owner (or the latest instance).
 */
export class LlmRuntime {
  readonly prices: PriceBook;
  readonly metrics: LlmMetrics | undefined;
  /** Cost and tokens per user, session, feature and prompt version (undefined when `llm.attribution` is false). */
  readonly costs: CostAttribution | undefined;
  private readonly cacheRequests: Counter<'cache' | 'result'> | undefined;
  private readonly queueDepth: Gauge<'queue'> | undefined;
  private readonly queueProcessed: Counter<'queue'> | undefined;
  private readonly cacheNames = new LabelCap(100, 'default');
  /** Queue names of the processed counter: the same clipped names as the depth gauge's, at most 100. */
  private readonly queueNames = new LabelCap(100, 'default');
  private readonly queues = new Map<string, () => number>();
  /** The gauge's set this instance's queues are read from (a shared registry's gauge outlives the instance). */
  private queueSources: Set<Map<string, () => number>> | undefined;
  private sinks: LlmCallSink[] = [];
  /** Told when a sink throws (counted and logged once by the instance); the record still reaches the others. */
  onSinkError: ((error: unknown) => void) | undefined;
  /** Asked before each LLM call when budgets enforce (`budgets.onExhausted` other than `warn`); else undefined. */
  gate: LlmCallGate | undefined;

  constructor(registry: Registry | undefined, readonly options: ResolvedLlmOptions) {
    this.prices = new PriceBook(options.prices);
    this.costs = options.attribution ? new CostAttribution(options.attribution) : undefined;
    if (registry !== undefined) {
      this.metrics = new LlmMetrics(registry, { maxModels: options.maxModels, timeToFirstChunkBuckets: options.timeToFirstChunkBuckets });
      this.cacheRequests = counter(registry, 'llmscope_cache_requests_total', 'Lookups in app caches (semantic cache, embedding cache, ...), by cache name and result (hit, miss).', ['cache', 'result']);
      const help = 'Items waiting in app queues (LLM request queues, batch jobs), read at scrape time, by queue name.';
      this.queueDepth = gauge(registry, 'llmscope_queue_depth', help, ['queue'], function collect(this: Gauge<'queue'>) {
        for (const queues of queuesByGauge.get(this) ?? []) {
          for (const [name, read] of queues) {
            try {
              const depth = read();
              if (typeof depth === 'number' && Number.isFinite(depth)) this.set({ queue: name }, depth);
            } catch {
              // A failing callback leaves the last value; scraping must not fail.
            }
          }
        }
      });
      this.queueProcessed = counter(registry, 'llmscope_queue_processed_total', 'Items taken off app queues and processed, by queue name: with llmscope_queue_depth, tells a queue that drains from one that is stuck.', ['queue']);
      let sets = queuesByGauge.get(this.queueDepth);
      if (sets === undefined) queuesByGauge.set(this.queueDepth, (sets = new Set()));
      sets.add(this.queues);
      this.queueSources = sets;
    }
    if (this.metrics !== undefined) {
      const metrics = this.metrics;
      const prices = this.prices;
      this.sinks.push((call) => {
        const contextWindow = call.inputTokens === undefined ? undefined
          : prices.contextWindow(call.provider, call.model) ?? (call.responseModel === undefined ? undefined : prices.contextWindow(call.provider, call.responseModel));
        metrics.record(call, contextWindow);
      });
    }
    if (this.costs !== undefined) this.sinks.push(this.costs.add.bind(this.costs));
  }

  /**
   * Stops reporting this instance's queues (it shut down): a registry shared with other
   * instances keeps the depth gauge, which would otherwise read, and keep alive, the app's queue
   * callbacks and everything they hold.
   */
  close(): void {
    this.queueSources?.delete(this.queues);
    this.queueSources = undefined;
  }

  /**
   * The cost of a call in USD: `null` when usage is known but the model has no price,
   * `undefined` without usage. The response model is tried first (it is more specific).
   */
  price(provider: string, responseModel: string | undefined, model: string, usage: LlmUsage | undefined): number | null | undefined {
    if (usage === undefined || (usage.inputTokens === undefined && usage.outputTokens === undefined)) return undefined;
    return this.prices.cost(provider, [responseModel, model], usage) ?? null;
  }

  /**
   * Adds a consumer of finished LLM calls (after the built-in ones: metrics, cost attribution).
   * Returns a function that removes it.
   */
  addSink(sink: LlmCallSink): () => void {
    this.sinks = [...this.sinks, sink];
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  /**
   * Hands one finished call to its request's totals and to every sink. The record comes priced
   * (`LlmCallState.end`, or `recordFromSpan` with this runtime as its pricer). A throwing sink is
   * skipped.
   */
  emit(r: LlmCallRecord, ctx: RequestContext | undefined): void {
    addToRequest(r, ctx);
    for (const sink of this.sinks) {
      try {
        sink(r);
      } catch (error) {
        // One broken consumer must not cost the others their record, nor the app its call.
        try {
          this.onSinkError?.(error);
        } catch {
          // Reporting is best effort.
        }
      }
    }
  }

  /** Counts a cache lookup: `llmscope_cache_requests_total{cache, result}`. */
  recordCacheLookup(cache: string, hit: boolean): void {
    this.cacheRequests?.inc({ cache: this.cacheNames.get(cache), result: hit ? 'hit' : 'miss' });
  }

  /** Counts `count` items processed off a queue: `llmscope_queue_processed_total{queue}`. */
  recordQueueProcessed(queue: string, count: number): void {
    if (this.queueProcessed === undefined || !(count > 0) || !Number.isFinite(count)) return;
    this.queueProcessed.inc({ queue: this.queueNames.get(queue) }, count);
  }

  /** Reports `read()` as `llmscope_queue_depth{queue}` at every scrape; returns a function that stops it. */
  trackQueueDepth(queue: string, read: () => number): () => void {
    const name = clipLabel(queue, 'default');
    this.queues.set(name, read);
    return () => {
      if (this.queues.get(name) === read) {
        this.queues.delete(name);
        this.queueDepth?.remove({ queue: name });
      }
    };
  }
}
