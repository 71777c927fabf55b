import type { CostReport } from './cost/attribution';
import { currentGenAiOwner } from './owner';

/**
 * Counts one lookup in an app cache (a semantic cache of LLM answers, an embedding cache):
 * `llmscope_cache_requests_total{cache, result="hit"|"miss"}`. Recorded by the instance owning
 * the current request (else the latest one); a no-op without any instance.
 *
 * @example
 * const cached = await cache.get(key);
 * recordCacheLookup('answers', cached !== undefined);
 */
export function recordCacheLookup(cache: string, hit: boolean): void {
  currentGenAiOwner()?.genai.recordCacheLookup(cache, hit);
}

/**
 * Exposes the depth of an app queue as `llmscope_queue_depth{queue}`, read by calling `read` at
 * each scrape (nothing runs between scrapes). Returns a function that stops reporting it.
 * Call it after the llmscope middleware is created (it registers with the latest instance).
 *
 * @example
 * const stop = trackQueueDepth('llm-requests', () => limiter.queued());
 */
export function trackQueueDepth(queue: string, read: () => number): () => void {
  return currentGenAiOwner()?.genai.trackQueueDepth(queue, read) ?? (() => undefined);
}

/**
 * Counts items an app queue has processed (taken off and handled, successfully or not):
 * `llmscope_queue_processed_total{queue}`, beside `llmscope_queue_depth{queue}`. With both, a
 * queue whose depth stays up while items flow is told apart from a stuck one (the
 * `LlmQueueNotDraining` alert of ops/prometheus). Use the queue name given to
 * {@link trackQueueDepth}; at most 100 names, later ones share `other`. `count` defaults to 1;
 * zero, negative or non-finite counts are ignored. A no-op without any instance.
 *
 * @example
 * const job = await queue.take();
 * try { await handle(job); } finally { recordQueueProcessed('llm-requests'); }
 */
export function recordQueueProcessed(queue: string, count = 1): void {
  currentGenAiOwner()?.genai.recordQueueProcessed(queue, count);
}

/**
 * Cost and tokens per user, session, feature and prompt version, as recorded by the instance
 * owning the current request (else the latest one): the `limit` most expensive keys of each, the
 * rest summed as `other`. `undefined` without an instance or with `llm.attribution: false`.
 */
export function getCostReport(limit?: number): CostReport | undefined {
  return currentGenAiOwner()?.genai.costs?.snapshot(limit);
}
