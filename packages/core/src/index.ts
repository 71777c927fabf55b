/**
 * @llmscope/core: the framework-neutral heart of llmscope. Apps get it re-exported by their
 * adapter (`@llmscope/express`, `@llmscope/fastify`, `@llmscope/nestjs`, `@llmscope/node`):
 * the request context, `step()`, `traceLLM()`, the SDK wrappers and the option types. Adapter
 * authors use `@llmscope/core/adapter`. Nothing else is public.
 * @packageDocumentation
 */
import { getContext as currentContext, type LlmscopeContext } from './context/context';

// Set-up
export { Llmscope, createLlmscope } from './llmscope';
export { LlmscopeConfigError } from './config/errors';
export { DEFAULT_HTTP_BUCKETS, type LlmscopeOptions, type MetricsOptions, type TracingOptions, type Identity } from './config/options';
export type { LlmOptions, ModelPrice, CostAttributionOptions } from './genai/options';
export type { ExportersOptions, OtlpExporterOptions, LangfuseExporterOptions, SentryExporterOptions } from './exporters/options';
export type { QueueLimits } from './exporters/queue';
export type { LoggingOptions, LogSink } from './logging/options';
export { SECRET_PATTERNS, EMAIL_PATTERN, type RedactOptions, type RedactionRule } from './logging/redact';
export type { SamplingOptions, HeadSamplingOptions, TailSamplingOptions, PriorityRules, RouteLatencyOptions, TraceSummary } from './sampling/options';
export type { TailSamplerStats } from './sampling/tail';
export type { HandlerResponse } from './http/metrics-endpoint';
export type { MetricsServerAddress } from './http/metrics-server';
export { llmscopeClusterMetrics, llmscopeClusterWorker, type ClusterMetrics, type ClusterMetricsOptions } from './http/cluster';

// Context
export { runWithContext, setUser, setSession, setFeature, setPromptVersion, tag, type TagValue, type ContextLimits, type LlmscopeContext, type LlmTotals } from './context/context';

/** The current request's context (read-only), or `undefined` outside of one. */
export const getContext: () => LlmscopeContext | undefined = currentContext;

// RAG steps and LLM calls
export { step } from './tracing/step';
export { retrievalAttributes, embeddingAttributes, type RetrievalStep, type EmbeddingStep } from './tracing/rag';
export { traceLLM, type LlmCall, type LlmCallOptions, type GenAiOperation } from './genai/trace-llm';
export type { LlmUsage } from './genai/usage';
export type { LlmCallRecord, LlmCallSink } from './genai/record';
export type { RequestRecord, RequestSink } from './http/request-record';
export type { OwnRoute, OwnRouteBody, OwnRouteHandler, OwnRouteRequest, OwnRouteResponse, OwnRouteStream } from './http/own-routes';
export { instrumentOpenAI, type InstrumentOpenAIOptions } from './genai/instrument/openai';
export { instrumentAnthropic, type InstrumentAnthropicOptions } from './genai/instrument/anthropic';
export { instrumentGoogleGenAI, type InstrumentGoogleGenAIOptions } from './genai/instrument/google-genai';
export {
  llmscopeMiddleware, llmscopeEmbeddingMiddleware, type LlmscopeMiddlewareOptions, type LlmscopeLanguageModelMiddleware,
  type LlmscopeEmbeddingModelMiddleware, type AiSdkSpecificationVersion, type AiSdkModel, type AiSdkCallOptions,
} from './genai/instrument/ai-sdk';
export { llmscopeLangChainHandler, LlmscopeLangChainHandler } from './genai/instrument/langchain';
export { validateOutput, type StandardSchemaV1, type InferOutput, type OutputIssue, type OutputValidation, type ValidateOutputOptions } from './genai/validate-output';
export { recordCacheLookup, trackQueueDepth, recordQueueProcessed, getCostReport } from './genai/helpers';
export type { CostReport, CostDimension, CostRow, CostTotals } from './genai/cost/attribution';
export { BudgetExceededError, type BudgetScope, type BudgetUnit } from './budgets/errors';
export type { BudgetsOptions, BudgetWindows, BudgetLimits, BudgetAction, BudgetExhaustion } from './budgets/options';
export type { BudgetWindow } from './budgets/windows';
export { GEN_AI_DURATION_BUCKETS, LLM_DURATION_BUCKETS, GEN_AI_SERVER_TTFT_BUCKETS, GEN_AI_TOKEN_BUCKETS, CONTEXT_UTILIZATION_BUCKETS } from './genai/buckets';

// Scores
export { score } from './evals/api';
export type { ScoreInput, ScoreRecord, ScoreSink, ScoreSource, ScoreTarget } from './evals/score';
export type { EvaluationsOptions, EvaluationQueueOptions, FeedbackOptions } from './evals/options';
export { DEFAULT_FAILURE_MODES } from './evals/options';
export { InvalidEvaluatorOutput, type Evaluator, type EvaluatorInput, type EvaluatorOutput, type EvaluatorResult, type EvaluatedMessage, type RetrievedDocument } from './evals/evaluator';
export { JUDGE_FEATURE, type EvaluationOutcome } from './evals/runner';
export { judgeEvaluator, type JudgeEvaluatorOptions, type JudgeRubric, type JudgeChatClient } from './evals/judge';
export { schemaEvaluator, citationEvaluator, lengthEvaluator, refusalEvaluator, REFUSAL_PHRASES, type SchemaEvaluatorOptions, type CitationEvaluatorOptions, type LengthEvaluatorOptions, type RefusalEvaluatorOptions } from './evals/builtins';

// Prompts
export { getPrompt, forcePromptVersion, runShadow } from './prompts/api';
export type { ShadowOptions } from './prompts/shadow';
export { SHADOW_FEATURE } from './genai/record';
export { LlmscopePromptError, type GetPromptOptions, type PromptRegistry } from './prompts/registry';
export type { Prompt, PromptBase, TextPrompt, ChatPrompt, ChatMessage, ChatPlaceholder, PromptSource } from './prompts/prompt';
export type { PromptsOptions, PromptDefinition, LangfusePromptsOptions, PromptExperimentOptions } from './prompts/options';
export type { TrafficControl } from './prompts/traffic';
export type { PromptExperiment, WeightChange, AssignmentReason } from './prompts/experiment';
export type { GuardOptions, RolloutOptions, QualityRuleOptions, ErrorRateRuleOptions, LatencyRuleOptions, CostRuleOptions, GuardFleetOptions, PromptGuardsOptions } from './prompts/guard/options';
export type { GuardEvent, GuardListener, GuardStatus } from './prompts/guard/guard';
export type { RuleOutcome, RuleName, RuleStatus } from './prompts/guard/rules';
export type { GuardState } from './prompts/guard/metrics';

// For apps that register their own OpenTelemetry provider
export { llmscopeSpanProcessor } from './tracing/provider';
export { llmscopeSampler } from './sampling/head';
export { TreePrinterProcessor } from './tracing/tree-printer';
