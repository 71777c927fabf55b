import type { Counter, Histogram, Registry } from 'prom-client';
import { CONTEXT_UTILIZATION_BUCKETS, GEN_AI_DURATION_BUCKETS, GEN_AI_TOKEN_BUCKETS, LLM_DURATION_BUCKETS } from './buckets';
import { clipLabel, LabelCap } from './labels';
import { exemplarsFor, type HistogramExemplars, type SeriesExemplars } from '../http/exemplars';
import { counter, histogram } from '../http/prom';
import { counterChild, histogramChild, type InPlaceCounter, type InPlaceHistogram } from '../http/prom-children';

import type { LlmCallRecord } from './record';

type Base = 'operation' | 'provider' | 'model';

/**
 * Metric children of one (operation, provider, model): resolved once, then reused by every call.
 * In place (`http/prom-children.ts`): prom-client's own children hash the label set and validate
 * names on every call, ~0.3-0.45 µs each, and a call updates five to eight series.
 */
interface Children {
  durationOk: InPlaceHistogram;
  durationError: InPlaceHistogram;
  /** With `metrics.exemplars`: the exemplar slots of the two duration series. */
  exemplarsOk: SeriesExemplars | undefined;
  exemplarsError: SeriesExemplars | undefined;
  usageInput: InPlaceHistogram;
  usageOutput: InPlaceHistogram;
  tokensInput: InPlaceCounter;
  tokensOutput: InPlaceCounter;
  ttft: InPlaceHistogram | undefined;
  retries: InPlaceCounter | undefined;
  contextUtilization: InPlaceHistogram | undefined;
  tokensCacheRead: InPlaceCounter | undefined;
  tokensCacheCreation: InPlaceCounter | undefined;
  /** Cost children by feature, prompt name and version. */
  cost: Map<string, InPlaceCounter> | undefined;
}

const MAX_CHILD_SETS = 10_000;

/**
 * The LLM metrics of one registry. Label values are bounded: models through a {@link LabelCap},
 * every other free-text value clipped, and user and session ids are never labels.
 */
export class LlmMetrics {
  readonly duration: Histogram<Base | 'outcome'>;
  readonly timeToFirstChunk: Histogram<Base>;
  readonly tokenUsage: Histogram<Base | 'token_type'>;
  readonly tokens: Counter<Base | 'token_type'>;
  readonly cost: Counter<'provider' | 'model' | 'feature' | 'prompt_name' | 'prompt_version'>;
  readonly unpriced: Counter<'provider' | 'model'>;
  readonly errors: Counter<Base | 'error_type'>;
  readonly retries: Counter<Base>;
  readonly contextUtilization: Histogram<'provider' | 'model'>;
  private readonly models: LabelCap;
  private readonly features = new LabelCap(200, 'none');
  private readonly prompts = new LabelCap(500, 'none');
  private readonly children = new Map<string, Children>();
  /** With `metrics.exemplars`: the duration histogram's exemplars (trace ids); undefined when off. */
  private readonly exemplars: HistogramExemplars | undefined;

  constructor(registry: Registry, options: { maxModels?: number; timeToFirstChunkBuckets?: number[] } = {}) {
    this.models = new LabelCap(options.maxModels ?? 200, 'unknown');
    const base = ['operation', 'provider', 'model'] as const;
    this.duration = histogram(registry, 'gen_ai_client_operation_duration_seconds', 'Duration of LLM calls (GenAI semconv gen_ai.client.operation.duration), by operation, provider, model and outcome.', [...base, 'outcome'], LLM_DURATION_BUCKETS);
    this.timeToFirstChunk = histogram(registry, 'gen_ai_client_operation_time_to_first_chunk_seconds', 'Time from the request to the first chunk of a streamed LLM answer (GenAI semconv gen_ai.client.operation.time_to_first_chunk).', [...base], options.timeToFirstChunkBuckets ?? GEN_AI_DURATION_BUCKETS);
    this.tokenUsage = histogram(registry, 'gen_ai_client_token_usage', 'Tokens per LLM call (GenAI semconv gen_ai.client.token.usage), by operation, provider, model and token type (input, output).', [...base, 'token_type'], GEN_AI_TOKEN_BUCKETS);
    this.tokens = counter(registry, 'llmscope_llm_tokens_total', 'Tokens used by LLM calls, by operation, provider, model and token type (input, output; cache_read and cache_creation are parts of input).', [...base, 'token_type']);
    this.cost = counter(registry, 'llmscope_llm_cost_usd_total', 'Cost of priced LLM calls in US dollars, by provider, model, feature, prompt name and prompt version.', ['provider', 'model', 'feature', 'prompt_name', 'prompt_version']);
    this.unpriced = counter(registry, 'llmscope_llm_unpriced_calls_total', 'LLM calls with token usage whose model has no price (add it to the `llm.prices` option), by provider and model.', ['provider', 'model']);
    this.errors = counter(registry, 'llmscope_llm_errors_total', 'Failed LLM calls, by operation, provider, model and error.type (e.g. RateLimitError, APIConnectionTimeoutError).', [...base, 'error_type']);
    this.retries = counter(registry, 'llmscope_llm_retries_total', 'Retried attempts of LLM calls (beyond the first attempt), by operation, provider and model.', [...base]);
    this.contextUtilization = histogram(registry, 'llmscope_llm_context_window_utilization_ratio', "Input tokens of an LLM call divided by the model's context window, by provider and model.", ['provider', 'model'], CONTEXT_UTILIZATION_BUCKETS);
    this.exemplars = exemplarsFor(registry, this.duration, [...base, 'outcome'], LLM_DURATION_BUCKETS);
  }

  private childrenFor(operation: string, provider: string, model: string): Children {
    const key = `${operation}\u0000${provider}\u0000${model}`;
    let c = this.children.get(key);
    if (c === undefined) {
      if (this.children.size >= MAX_CHILD_SETS) this.children.clear();
      const labels = { operation, provider, model };
      c = {
        durationOk: histogramChild(this.duration, { ...labels, outcome: 'ok' }),
        durationError: histogramChild(this.duration, { ...labels, outcome: 'error' }),
        exemplarsOk: this.exemplars?.forSeries({ ...labels, outcome: 'ok' }),
        exemplarsError: this.exemplars?.forSeries({ ...labels, outcome: 'error' }),
        usageInput: histogramChild(this.tokenUsage, { ...labels, token_type: 'input' }),
        usageOutput: histogramChild(this.tokenUsage, { ...labels, token_type: 'output' }),
        tokensInput: counterChild(this.tokens, { ...labels, token_type: 'input' }),
        tokensOutput: counterChild(this.tokens, { ...labels, token_type: 'output' }),
        ttft: undefined,
        retries: undefined,
        contextUtilization: undefined,
        tokensCacheRead: undefined,
        tokensCacheCreation: undefined,
        cost: undefined,
      };
      this.children.set(key, c);
    }
    return c;
  }

  private costChild(c: Children, provider: string, model: string, call: LlmCallRecord): InPlaceCounter {
    const feature = this.features.get(call.feature);
    const name = this.prompts.get(call.promptName);
    const version = this.prompts.get(call.promptVersion);
    const key = `${feature}\u0000${name}\u0000${version}`;
    const byLabels = (c.cost ??= new Map());
    let child = byLabels.get(key);
    if (child === undefined) {
      child = counterChild(this.cost, { provider, model, feature, prompt_name: name, prompt_version: version });
      byLabels.set(key, child);
    }
    return child;
  }

  /**
   * Records one call. `contextWindow` is the model's, when known. Label values are bounded here,
   * so records from other instrumentations' spans are as safe as llmscope's own.
   */
  record(call: LlmCallRecord, contextWindow: number | undefined): void {
    const operation = clipLabel(call.operation, 'unknown');
    const provider = clipLabel(call.provider, 'unknown');
    const model = this.models.get(call.model);
    const c = this.childrenFor(operation, provider, model);
    (call.outcome === 'error' ? c.durationError : c.durationOk).observe(call.seconds);
    if (c.exemplarsOk !== undefined && call.traceId !== undefined) (call.outcome === 'error' ? c.exemplarsError as SeriesExemplars : c.exemplarsOk).record(call.seconds, call.traceId, call.startTimeMs + call.seconds * 1000);
    const input = call.inputTokens;
    const output = call.outputTokens;
    if (input !== undefined) {
      c.usageInput.observe(input);
      if (input > 0) c.tokensInput.inc(input);
      if (contextWindow !== undefined && contextWindow > 0) (c.contextUtilization ??= histogramChild(this.contextUtilization, { provider, model })).observe(input / contextWindow);
    }
    if (output !== undefined) {
      c.usageOutput.observe(output);
      if (output > 0) c.tokensOutput.inc(output);
    }
    if (call.cacheReadTokens !== undefined && call.cacheReadTokens > 0) {
      (c.tokensCacheRead ??= counterChild(this.tokens, { operation, provider, model, token_type: 'cache_read' })).inc(call.cacheReadTokens);
    }
    if (call.cacheCreationTokens !== undefined && call.cacheCreationTokens > 0) {
      (c.tokensCacheCreation ??= counterChild(this.tokens, { operation, provider, model, token_type: 'cache_creation' })).inc(call.cacheCreationTokens);
    }
    if (call.timeToFirstChunk !== undefined) (c.ttft ??= histogramChild(this.timeToFirstChunk, { operation, provider, model })).observe(call.timeToFirstChunk);
    if (call.retries > 0) (c.retries ??= counterChild(this.retries, { operation, provider, model })).inc(call.retries);
    if (call.outcome === 'error') this.errors.inc({ operation, provider, model, error_type: clipLabel(call.errorType, '_OTHER') });
    if (typeof call.costUsd === 'number') {
      if (call.costUsd > 0) this.costChild(c, provider, model, call).inc(call.costUsd);
    } else if (call.costUsd === null && (input !== undefined || output !== undefined)) {
      this.unpriced.labels(provider, model).inc();
    }
  }
}
