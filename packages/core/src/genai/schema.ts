import type { Attributes } from '@opentelemetry/api';

/**
 * The one place that knows GenAI attribute names: the OpenTelemetry GenAI semantic conventions
 * (`gen_ai.*`), their pre-1.37 spellings and OpenLLMetry's and OpenInference's names read from
 * other tools' spans, and llmscope's own (`llmscope.*`). Every reader and writer of LLM-call attributes goes through these constants
 * and the two mappings in `genai/record-attributes.ts`.
 */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  temperature: 'gen_ai.request.temperature',
  maxTokens: 'gen_ai.request.max_tokens',
  topP: 'gen_ai.request.top_p',
  stream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  conversationId: 'gen_ai.conversation.id',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  embeddingDimensions: 'gen_ai.embeddings.dimension.count',
  dataSourceId: 'gen_ai.data_source.id',
  topK: 'gen_ai.request.top_k',
} as const;

/** Names used by older GenAI semantic conventions and other tools, read (never written). */
export const GEN_AI_LEGACY = {
  system: 'gen_ai.system',
  promptTokens: 'gen_ai.usage.prompt_tokens',
  completionTokens: 'gen_ai.usage.completion_tokens',
  /** The Anthropic SDK's own spans. */
  cacheWriteTokens: 'gen_ai.usage.cache_write.input_tokens',
  /** Time to first chunk in seconds, as the AI SDK's `@ai-sdk/otel` puts it on its model-call span. */
  clientTimeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  /** Time to first chunk in milliseconds, on the AI SDK's legacy `ai.streamText.doStream` spans. */
  aiSdkMsToFirstChunk: 'ai.response.msToFirstChunk',
} as const;

/**
 * OpenLLMetry's (Traceloop) names outside the GenAI conventions, read (never written): its
 * `@traceloop/ai-semantic-conventions` `SpanAttributes`, kept by its instrumentations "for
 * backwards compatibility" and written by the older releases still in use.
 */
export const TRACELOOP = {
  /** `chat`, `completion`, `rerank` or `unknown`: the operation of spans without `gen_ai.operation.name`. */
  requestType: 'llm.request.type',
  totalTokens: 'llm.usage.total_tokens',
  genAiTotalTokens: 'gen_ai.usage.total_tokens',
  /** Parts of the input tokens, in the spelling before the conventions had them. */
  cacheReadTokens: 'gen_ai.usage.cache_read_input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation_input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning_tokens',
  topK: 'llm.top_k',
  frequencyPenalty: 'llm.frequency_penalty',
  presencePenalty: 'llm.presence_penalty',
} as const;

/**
 * OpenInference's (Arize Phoenix) names, read (never written): `@arizeai/openinference-semantic-conventions`
 * `SemanticConventions`. Its spans carry no `gen_ai.*` at all; `openinference.span.kind` says what
 * they are.
 */
export const OPENINFERENCE = {
  spanKind: 'openinference.span.kind',
  modelName: 'llm.model_name',
  requestModelName: 'llm.request.model_name',
  responseModelName: 'llm.response.model_name',
  embeddingModelName: 'embedding.model_name',
  provider: 'llm.provider',
  system: 'llm.system',
  /** Every prompt token, the cache's included (its `prompt_details` are parts of it). */
  promptTokens: 'llm.token_count.prompt',
  completionTokens: 'llm.token_count.completion',
  totalTokens: 'llm.token_count.total',
  cacheReadTokens: 'llm.token_count.prompt_details.cache_read',
  cacheWriteTokens: 'llm.token_count.prompt_details.cache_write',
  reasoningTokens: 'llm.token_count.completion_details.reasoning',
  /** The request's parameters as one JSON object (`{"temperature":0.2,"max_tokens":256}`). */
  invocationParameters: 'llm.invocation_parameters',
} as const;

/**
 * `openinference.span.kind` → the GenAI operation its span is recorded as. CHAIN (and the kinds not
 * listed: RERANKER, GUARDRAIL, EVALUATOR, PROMPT) are groupings or checks, no LLM call.
 */
export const OPENINFERENCE_OPERATIONS: Readonly<Record<string, string>> = {
  LLM: 'chat', EMBEDDING: 'embeddings', RETRIEVER: 'retrieval', TOOL: 'execute_tool', AGENT: 'invoke_agent',
};

/** `llm.request.type` (OpenLLMetry) → GenAI operation. */
const TRACELOOP_OPERATIONS: Readonly<Record<string, string>> = { chat: 'chat', completion: 'text_completion', rerank: 'rerank' };

/** llmscope's own attributes. */
export const LLMSCOPE = {
  feature: 'llmscope.feature',
  promptName: 'llmscope.prompt.name',
  promptVersion: 'llmscope.prompt.version',
  /** The prompt experiment that chose the version (its variant is the version). */
  promptExperiment: 'llmscope.prompt.experiment',
  /** `true` on the spans of a shadow run (a candidate prompt version run off the response path). */
  shadow: 'llmscope.shadow',
  costUsd: 'llmscope.cost.usd',
  retries: 'llmscope.retries',
  usageEstimated: 'llmscope.usage.estimated',
  streamCancelled: 'llmscope.stream.cancelled',
  streamAbandoned: 'llmscope.stream.abandoned',
  step: 'llmscope.step',
  tagPrefix: 'llmscope.tag.',
  /** Request totals, on the request span. */
  requestLlmCalls: 'llmscope.request.llm_calls',
  requestInputTokens: 'llmscope.request.input_tokens',
  requestOutputTokens: 'llmscope.request.output_tokens',
  requestCostUsd: 'llmscope.request.cost_usd',
} as const;

/** Evaluation results (GenAI semantic conventions' `gen_ai.evaluation.result` event, and llmscope's). */
export const EVALUATION = {
  event: 'gen_ai.evaluation.result',
  name: 'gen_ai.evaluation.name',
  scoreValue: 'gen_ai.evaluation.score.value',
  scoreLabel: 'gen_ai.evaluation.score.label',
  explanation: 'gen_ai.evaluation.explanation',
  source: 'llmscope.score.source',
  evaluator: 'llmscope.score.evaluator',
} as const;

/** General OpenTelemetry attributes llmscope writes next to the GenAI ones. */
export const COMMON = {
  userId: 'user.id',
  sessionId: 'session.id',
  errorType: 'error.type',
} as const;

/**
 * The GenAI operation attributes describe, in any of the conventions read: `gen_ai.operation.name`,
 * OpenInference's span kind, OpenLLMetry's `llm.request.type`, else `chat` for a span naming a
 * provider and a request model (pre-1.37 conventions). Undefined for anything else: no LLM call.
 */
export function genAiOperation(a: Attributes): string | undefined {
  const op = a[GEN_AI.operation];
  if (typeof op === 'string') return op;
  const kind = a[OPENINFERENCE.spanKind];
  if (typeof kind === 'string') return OPENINFERENCE_OPERATIONS[kind];
  const system = a[GEN_AI.provider] ?? a[GEN_AI_LEGACY.system];
  if (system === undefined) return undefined;
  const type = a[TRACELOOP.requestType];
  if (typeof type === 'string') return TRACELOOP_OPERATIONS[type] ?? 'chat';
  return a[GEN_AI.requestModel] !== undefined ? 'chat' : undefined;
}

/** Whether attributes describe a GenAI operation (current or pre-1.37 conventions, OpenLLMetry, OpenInference). */
export function isGenAiAttributes(a: Attributes): boolean {
  return genAiOperation(a) !== undefined;
}
