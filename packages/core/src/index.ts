/**
 * @llmscope/core: the framework-neutral heart of llmscope. Adapters (`@llmscope/express`, ...)
 * drive the {@link Llmscope} request lifecycle; apps use the context, `step()` and `traceLLM()`.
 * @packageDocumentation
 */
export { Llmscope, createLlmscope } from './llmscope';
export {
  RequestContext, getContext, runWithContext, setUser, setSession, setFeature, setPromptVersion, tag,
  type TagValue, type ContextLimits,
} from './context';
export { step } from './step';
export { traceLLM, type LlmCall, type LlmCallOptions, type GenAiOperation } from './llm';
export type { LlmUsage } from './llm-usage';
export type { LlmCallRecord } from './llm-metrics';
export { resolveOptions, DEFAULT_HTTP_BUCKETS, type LlmscopeOptions, type MetricsOptions, type TracingOptions, type Identity, type ResolvedOptions } from './options';
export { LlmscopeConfigError } from './errors';
export type { HandlerResponse } from './metrics-endpoint';
export { llmscopeSpanProcessor, FanoutSpanProcessor, TRACER_NAME } from './tracing';
export { TreePrinterProcessor } from './tree-printer';
