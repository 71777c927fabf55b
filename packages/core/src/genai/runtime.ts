import { Counter, Gauge, type Registry } from 'prom-client';
import { CostAttribution } from './cost/attribution';
import { clipLabel, LabelCap } from './labels';
import { LlmMetrics, type LlmCallRecord } from './metrics';
import type { ResolvedLlmOptions } from './options';
import { PriceBook } from './cost/prices';
import { genAiSpanMetrics } from './span-records';
import { getOrCreate } from '../http/prom';
import { llmscopeSpanProcessor } from '../tracing/provider';

/**
 * Queue callbacks of every instance using a gauge: two instances sharing one registry share the
 * gauge, whose collect() was created by the first, so it must read the second's queues too.
 */
const queuesByGauge = new WeakMap<Gauge<'queue'>, Set<Map<string, () => number>>>();

/**
 * The LLM side of one llmscope instance: its price book (table + the app's overrides), its LLM
 * metrics (when metrics are on), its cost attribution, and the cache and queue helpers.
 * `Llmscope` creates one; `traceLLM`, the instrumented clients and the GenAI span processor
 * reach it through the request's owner (or the latest instance).
 */
export class LlmRuntime {
  readonly prices: PriceBook;
  readonly metrics: LlmMetrics | undefined;
  /** Cost and tokens per user, session, feature and prompt version (undefined when `llm.attribution` is false). */
  readonly costs: CostAttribution | undefined;
  private readonly cacheRequests: Counter<'cache' | 'result'> | undefined;
  private readonly queueDepth: Gauge<'queue'> | undefined;
  private readonly cacheNames = new LabelCap(100, 'default');
  private readonly queues = new Map<string, () => number>();

  constructor(registry: Registry | undefined, readonly options: ResolvedLlmOptions) {
    this.prices = new PriceBook(options.prices);
    this.costs = options.attribution ? new CostAttribution(options.attribution) : undefined;
    if (registry !== undefined) {
      this.metrics = new LlmMetrics(registry, { maxModels: options.maxModels, timeToFirstChunkBuckets: options.timeToFirstChunkBuckets });
      this.cacheRequests = getOrCreate(Counter, registry, {
        name: 'llmscope_cache_requests_total',
        help: 'Lookups in app caches (semantic cache, embedding cache, ...), by cache name and result (hit, miss).',
        labelNames: ['cache', 'result'],
      }) as Counter<'cache' | 'result'>;
      this.queueDepth = getOrCreate(Gauge, registry, {
        name: 'llmscope_queue_depth',
        help: 'Items waiting in app queues (LLM request queues, batch jobs), read at scrape time, by queue name.',
        labelNames: ['queue'],
        collect(this: Gauge<'queue'>) {
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
        },
      }) as Gauge<'queue'>;
      let sets = queuesByGauge.get(this.queueDepth);
      if (sets === undefined) queuesByGauge.set(this.queueDepth, (sets = new Set()));
      sets.add(this.queues);
    }
    // One process-wide processor (adding it twice is a no-op): spans are routed to one instance each.
    llmscopeSpanProcessor.add(genAiSpanMetrics);
  }

  /** Records one finished call: prices it if not done yet, then metrics and cost attribution. */
  record(call: LlmCallRecord): void {
    if (call.costUsd === undefined && (call.inputTokens !== undefined || call.outputTokens !== undefined)) {
      const usage = { inputTokens: call.inputTokens, outputTokens: call.outputTokens, cacheReadTokens: call.cacheReadTokens, cacheCreationTokens: call.cacheCreationTokens };
      call.costUsd = this.prices.cost(call.provider, [call.responseModel, call.model], usage) ?? null;
    }
    if (this.metrics !== undefined) {
      const contextWindow = call.inputTokens === undefined ? undefined
        : this.prices.contextWindow(call.provider, call.model) ?? (call.responseModel === undefined ? undefined : this.prices.contextWindow(call.provider, call.responseModel));
      this.metrics.record(call, contextWindow);
    }
    this.costs?.add({
      costUsd: call.costUsd,
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      userId: call.userId,
      sessionId: call.sessionId,
      feature: call.feature,
      promptName: call.promptName,
      promptVersion: call.promptVersion,
    });
  }

  /** Counts a cache lookup: `llmscope_cache_requests_total{cache, result}`. */
  recordCacheLookup(cache: string, hit: boolean): void {
    this.cacheRequests?.inc({ cache: this.cacheNames.get(cache), result: hit ? 'hit' : 'miss' });
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
