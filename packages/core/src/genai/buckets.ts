/**
 * Histogram boundaries recommended by the OpenTelemetry GenAI semantic conventions.
 * Kept in one file so that docs/metrics.md and the code cannot drift apart.
 */

/** `gen_ai.client.operation.duration` and `gen_ai.client.operation.time_to_first_chunk` (seconds). */
export const GEN_AI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/**
 * Buckets of `gen_ai_client_operation_duration_seconds` (seconds): the GenAI semconv ones plus a
 * 15 s boundary, so that "LLM p99 above 15 s" (the `LlmLatencyP99High` alert in ops/prometheus)
 * is measured at a bucket edge instead of interpolated between 10.24 and 20.48. One bucket more
 * per series (15 + `+Inf`), nothing else.
 */
export const LLM_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 15, 20.48, 40.96, 81.92];

/**
 * `gen_ai.server.time_to_first_token` (seconds): finer below one second. Pass it as
 * `llm.timeToFirstChunkBuckets` for a TTFT SLO such as "p95 under 1 s".
 */
export const GEN_AI_SERVER_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** `gen_ai.client.token.usage` (tokens). */
export const GEN_AI_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** `llmscope_llm_context_window_utilization_ratio`: input tokens ÷ context window. */
export const CONTEXT_UTILIZATION_BUCKETS = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];
