/**
 * @llmscope/core: the framework-neutral heart of llmscope. Adapters (`@llmscope/express`, ...)
 * drive the {@link Llmscope} request lifecycle; apps use the context, `step()` and `traceLLM()`.
 * @packageDocumentation
 */
export { Llmscope, createLlmscope } from './llmscope';
export {
  RequestContext, getContext, runWithContext, bindContext, setUser, setSession, setFeature, setPromptVersion, tag,
  type TagValue, type ContextLimits,
} from './context/context';
export { step } from './tracing/step';
export { traceLLM, type LlmCall, type LlmCallOptions, type GenAiOperation } from './genai/trace-llm';
export type { LlmUsage } from './genai/usage';
export type { LlmCallRecord } from './genai/metrics';
export type { LlmResultInfo } from './genai/usage';
export { LlmMetrics } from './genai/metrics';
export { GEN_AI_DURATION_BUCKETS, GEN_AI_SERVER_TTFT_BUCKETS, GEN_AI_TOKEN_BUCKETS, CONTEXT_UTILIZATION_BUCKETS } from './genai/buckets';
export type { LlmOptions, ModelPrice, CostAttributionOptions, ResolvedLlmOptions } from './genai/options';
export { PriceBook } from './genai/cost/prices';
export { LlmRuntime } from './genai/runtime';
export { CostAttribution, type CostReport, type CostDimension, type CostRow, type CostTotals } from './genai/cost/attribution';
export { recordCacheLookup, trackQueueDepth, getCostReport } from './genai/helpers';
export { GenAiSpanMetricsProcessor, genAiSpanMetrics, recordFromSpan } from './genai/span-records';
export { instrumentOpenAI, type InstrumentOpenAIOptions } from './genai/instrument/openai';
export { instrumentAnthropic, type InstrumentAnthropicOptions } from './genai/instrument/anthropic';
export { retrievalAttributes, embeddingAttributes, type RetrievalStep, type EmbeddingStep } from './tracing/rag';
export { resolveOptions, DEFAULT_HTTP_BUCKETS, type LlmscopeOptions, type MetricsOptions, type TracingOptions, type Identity, type ResolvedOptions } from './config/options';
export { LlmscopeConfigError } from './config/errors';
export type { HandlerResponse } from './http/metrics-endpoint';
export { llmscopeSpanProcessor, FanoutSpanProcessor, TRACER_NAME } from './tracing/provider';
export { TreePrinterProcessor } from './tracing/tree-printer';
export { validateOutput, type StandardSchemaV1, type InferOutput, type OutputIssue, type OutputValidation, type ValidateOutputOptions } from './genai/validate-output';
export { Redactor, SECRET_PATTERNS, EMAIL_PATTERN, type RedactOptions, type RedactionRule } from './logging/redact';
export type { ExportersOptions, OtlpExporterOptions, LangfuseExporterOptions, SentryExporterOptions } from './exporters/options';
export type { QueueLimits } from './exporters/queue';
export type { LoggingOptions, LogSink } from './logging/options';
export { Telemetry, type ValidationFailure } from './exporters/telemetry';
export type { SamplingOptions, HeadSamplingOptions, TailSamplingOptions, PriorityRules, RouteLatencyOptions, TraceSummary } from './sampling/options';
export { LlmscopeSampler, llmscopeSampler } from './sampling/head';
export { TailSamplingProcessor, type TailSamplerStats } from './sampling/tail';
export { SamplingPipeline } from './sampling/pipeline';
