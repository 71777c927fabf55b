import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreate } from './prom';

/** GenAI semconv bucket boundaries for `gen_ai.client.operation.duration` (seconds). */
export const GEN_AI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

type LlmLabels = 'operation' | 'provider' | 'model';

/** One finished LLM call, as the metrics see it. */
export interface LlmCallRecord {
  operation: string;
  provider: string;
  model: string;
  seconds: number;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  error: boolean;
}

/** LLM metrics: operation duration and token counts, by operation, provider and model. */
export class LlmMetrics {
  readonly duration: Histogram<LlmLabels | 'outcome'>;
  readonly tokens: Counter<LlmLabels | 'token_type'>;

  constructor(registry: Registry) {
    this.duration = getOrCreate(Histogram, registry, {
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Duration of LLM calls (GenAI semconv gen_ai.client.operation.duration), by operation, provider, model and outcome.',
      labelNames: ['operation', 'provider', 'model', 'outcome'] as const,
      buckets: GEN_AI_DURATION_BUCKETS,
    }) as Histogram<LlmLabels | 'outcome'>;
    this.tokens = getOrCreate(Counter, registry, {
      name: 'llmscope_llm_tokens_total',
      help: 'Tokens used by LLM calls, by operation, provider, model and token type (input, output).',
      labelNames: ['operation', 'provider', 'model', 'token_type'] as const,
    }) as Counter<LlmLabels | 'token_type'>;
  }

  record(call: LlmCallRecord): void {
    const { operation, provider, model } = call;
    this.duration.observe({ operation, provider, model, outcome: call.error ? 'error' : 'ok' }, call.seconds);
    if (call.inputTokens !== undefined && call.inputTokens > 0) this.tokens.inc({ operation, provider, model, token_type: 'input' }, call.inputTokens);
    if (call.outputTokens !== undefined && call.outputTokens > 0) this.tokens.inc({ operation, provider, model, token_type: 'output' }, call.outputTokens);
  }
}
