/**
 * @llmscope/core: the framework-neutral heart of llmscope. Adapters (`@llmscope/express`, ...)
 * drive the {@link Llmscope} request lifecycle; apps use the context, `step()` and `traceLLM()`.
 * @packageDocumentation
 */
export { Llmscope, createLlmscope } from './llmscope';
export {
  RequestContext, getContext, runWithContext, bindContext, setUser, setSession, setFeature, setPromptVersion, tag,
  type TagValue, type ContextLimits,
} from './context';
export { step } from './step';
export { traceLLM, type LlmCall, type LlmCallOptions, type GenAiOperation } from './llm';
export type { LlmUsage } from './llm-usage';
export type { LlmCallRecord } from './llm-metrics';
export type { LlmResultInfo } from './llm-usage';
export { LlmMetrics } from './llm-metrics';
export { GEN_AI_DURATION_BUCKETS, GEN_AI_SERVER_TTFT_BUCKETS, GEN_AI_TOKEN_BUCKETS, CONTEXT_UTILIZATION_BUCKETS } from './llm-buckets';
export type { LlmOptions, ModelPrice, CostAttributionOptions, ResolvedLlmOptions } from './llm-options';
export { PriceBook } from './llm-prices';
export { LlmRuntime } from './llm-runtime';
export { CostAttribution, type CostReport, type CostDimension, type CostRow, type CostTotals } from './llm-attribution';
export { recordCacheLookup, trackQueueDepth, getCostReport } from './llm-helpers';
export { GenAiSpanMetricsProcessor, genAiSpanMetrics, recordFromSpan } from './llm-span-metrics';
export { instrumentOpenAI, type InstrumentOpenAIOptions } from './instrument-openai';
export { instrumentAnthropic, type InstrumentAnthropicOptions } from './instrument-anthropic';
export { retrievalAttributes, embeddingAttributes, type RetrievalStep, type EmbeddingStep } from './rag';
export { resolveOptions, DEFAULT_HTTP_BUCKETS, type LlmscopeOptions, type MetricsOptions, type TracingOptions, type Identity, type ResolvedOptions } from './options';
export { LlmscopeConfigError } from './errors';
export type { HandlerResponse } from './metrics-endpoint';
export { llmscopeSpanProcessor, FanoutSpanProcessor, TRACER_NAME } from './tracing';
export { TreePrinterProcessor } from './tree-printer';
export { validateOutput, type StandardSchemaV1, type InferOutput, type OutputIssue, type OutputValidation, type ValidateOutputOptions } from './validate-output';
export { Redactor, SECRET_PATTERNS, EMAIL_PATTERN, type RedactOptions, type RedactionRule } from './redact';
export type { ExportersOptions, OtlpExporterOptions, LangfuseExporterOptions, SentryExporterOptions } from './exporters/options';
export type { QueueLimits } from './exporters/queue';
export type { LoggingOptions, LogSink } from './logging/options';
export { Telemetry, type ValidationFailure } from './telemetry';
export type { SamplingOptions, HeadSamplingOptions, TailSamplingOptions, PriorityRules, RouteLatencyOptions, TraceSummary } from './sampling/options';
export { LlmscopeSampler, llmscopeSampler } from './sampling/head';
export { TailSamplingProcessor, type TailSamplerStats } from './sampling/tail';
export { SamplingPipeline } from './sampling/pipeline';
