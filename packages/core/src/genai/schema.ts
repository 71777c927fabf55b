import type { Attributes } from '@opentelemetry/api';

/**
 * The one place that knows GenAI attribute names: the OpenTelemetry GenAI semantic conventions
 * (`gen_ai.*`), their pre-1.37 spellings read from other tools' spans, and llmscope's own
 * (`llmscope.*`). Every reader and writer of LLM-call attributes goes through these constants
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

/** Whether attributes describe a GenAI operation (current or pre-1.37 conventions). */
export function isGenAiAttributes(a: Attributes): boolean {
  return a[GEN_AI.operation] !== undefined
    || ((a[GEN_AI.provider] !== undefined || a[GEN_AI_LEGACY.system] !== undefined) && a[GEN_AI.requestModel] !== undefined);
}
