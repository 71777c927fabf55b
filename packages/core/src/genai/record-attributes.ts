import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { LlmCallRecord } from './record';
import type { LlmUsage } from './usage';
import { COMMON, GEN_AI, GEN_AI_LEGACY, LLMSCOPE, OPENINFERENCE, TRACELOOP, genAiOperation } from './schema';

/** What is known of an LLM call when it starts: the request side of the record. */
export type LlmCallStart = Pick<LlmCallRecord,
  'operation' | 'provider' | 'model' | 'temperature' | 'maxTokens' | 'topP'
  | 'userId' | 'sessionId' | 'feature' | 'promptName' | 'promptVersion' | 'promptExperiment' | 'inputMessages' | 'shadow'>;

const MAX_ATTRIBUTE = 256;

function clip(value: string): string {
  return value.length > MAX_ATTRIBUTE ? value.slice(0, MAX_ATTRIBUTE) : value;
}

/** Record → attributes, the part known at the start (sampling and span processors see these). */
export function startAttributes(c: LlmCallStart): Attributes {
  const a: Attributes = {
    [GEN_AI.operation]: c.operation,
    [GEN_AI.provider]: clip(c.provider),
    [GEN_AI.requestModel]: clip(c.model),
  };
  if (c.temperature !== undefined) a[GEN_AI.temperature] = c.temperature;
  if (c.maxTokens !== undefined) a[GEN_AI.maxTokens] = c.maxTokens;
  if (c.topP !== undefined) a[GEN_AI.topP] = c.topP;
  if (c.promptName !== undefined) a[LLMSCOPE.promptName] = c.promptName;
  if (c.promptVersion !== undefined) a[LLMSCOPE.promptVersion] = c.promptVersion;
  if (c.promptExperiment !== undefined) a[LLMSCOPE.promptExperiment] = c.promptExperiment;
  if (c.shadow === true) a[LLMSCOPE.shadow] = true;
  if (c.sessionId !== undefined) a[GEN_AI.conversationId] = c.sessionId;
  if (c.userId !== undefined) a[COMMON.userId] = c.userId;
  if (c.feature !== undefined) a[LLMSCOPE.feature] = c.feature;
  if (c.inputMessages !== undefined) a[GEN_AI.inputMessages] = c.inputMessages;
  return a;
}

/** Record → attributes, the part known at the end (response, usage, cost, outcome details). */
export function endAttributes(r: LlmCallRecord): Attributes {
  const a: Attributes = {};
  if (r.responseModel !== undefined) a[GEN_AI.responseModel] = clip(r.responseModel);
  if (r.responseId !== undefined) a[GEN_AI.responseId] = clip(r.responseId);
  if (r.finishReasons !== undefined) a[GEN_AI.finishReasons] = [...r.finishReasons];
  if (r.timeToFirstChunk !== undefined) a[GEN_AI.timeToFirstChunk] = r.timeToFirstChunk;
  if (r.inputTokens !== undefined) a[GEN_AI.inputTokens] = r.inputTokens;
  if (r.outputTokens !== undefined) a[GEN_AI.outputTokens] = r.outputTokens;
  if (r.cacheReadTokens !== undefined) a[GEN_AI.cacheReadTokens] = r.cacheReadTokens;
  if (r.cacheCreationTokens !== undefined) a[GEN_AI.cacheCreationTokens] = r.cacheCreationTokens;
  if (r.reasoningTokens !== undefined) a[GEN_AI.reasoningTokens] = r.reasoningTokens;
  if (r.usageEstimated) a[LLMSCOPE.usageEstimated] = true;
  if (typeof r.costUsd === 'number') a[LLMSCOPE.costUsd] = r.costUsd;
  if (r.retries > 0) a[LLMSCOPE.retries] = r.retries;
  if (r.streamEnd === 'cancelled') a[LLMSCOPE.streamCancelled] = true;
  else if (r.streamEnd === 'abandoned') a[LLMSCOPE.streamAbandoned] = true;
  if (r.outputMessages !== undefined) a[GEN_AI.outputMessages] = r.outputMessages;
  return a;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function strings(value: unknown): readonly string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

/** Request-context fields a span's own attributes may lack. */
export interface ContextFields {
  /** The request's server span, when the span ran in a traced request. */
  span?: { spanContext(): { spanId: string } } | undefined;
  userId?: string | undefined;
  sessionId?: string | undefined;
  feature?: string | undefined;
  promptName?: string | undefined;
  promptVersion?: string | undefined;
  promptExperiment?: string | undefined;
}

/** The error a failed span recorded, rebuilt from its exception event (for Sentry). */
function spanError(span: ReadableSpan): Error {
  const exception = span.events.find((e) => e.name === 'exception')?.attributes;
  const error = new Error(String(exception?.['exception.message'] ?? span.status.message ?? 'LLM call failed'));
  error.name = String(exception?.['exception.type'] ?? span.attributes[COMMON.errorType] ?? 'LlmError');
  const stack = exception?.['exception.stacktrace'];
  if (typeof stack === 'string') error.stack = stack;
  return error;
}

/** Operations whose usage is the sum of the model calls under them, each recorded from its own span. */
const AGGREGATES = new Set(['invoke_agent', 'create_agent']);

/** AI SDK (`@ai-sdk/otel`) step spans: neither a model call nor an agent, only a grouping. */
const GROUPINGS = new Set(['agent_step']);

function ttft(a: Attributes): number | undefined {
  const seconds = num(a[GEN_AI.timeToFirstChunk]) ?? num(a[GEN_AI_LEGACY.clientTimeToFirstChunk]);
  if (seconds !== undefined) return seconds;
  const ms = num(a[GEN_AI_LEGACY.aiSdkMsToFirstChunk]);
  return ms === undefined ? undefined : ms / 1000;
}

/**
 * `gen_ai.provider.name` values for the provider spellings of other tools: OpenInference's
 * `llm.provider` / `llm.system` and OpenLLMetry's older `gen_ai.system` ("OpenAI", "Azure OpenAI"),
 * so that their calls share the metric series and the prices of llmscope's own.
 */
const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  OpenAI: 'openai', 'Azure OpenAI': 'azure.ai.openai', Anthropic: 'anthropic', Cohere: 'cohere', 'Vertex AI': 'gcp.vertex_ai', VertexAI: 'gcp.vertex_ai',
  AWS: 'aws.bedrock', Bedrock: 'aws.bedrock', Mistral: 'mistral_ai', MistralAI: 'mistral_ai', Groq: 'groq', Together: 'together_ai', Gemini: 'gcp.gemini',
  google: 'gcp.gemini', vertexai: 'gcp.vertex_ai', aws: 'aws.bedrock', amazon: 'aws.bedrock', azure: 'azure.ai.openai',
  xai: 'x_ai', mistralai: 'mistral_ai', together: 'together_ai',
};

function provider(a: Attributes): string {
  const raw = str(a[GEN_AI.provider]) ?? str(a[OPENINFERENCE.provider]) ?? str(a[GEN_AI_LEGACY.system]) ?? str(a[OPENINFERENCE.system]);
  return raw === undefined ? 'unknown' : PROVIDER_ALIASES[raw] ?? raw;
}

/** Parameters of OpenInference's `llm.invocation_parameters` JSON, read only when that is all the span has. */
interface InvocationParameters {
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  topP?: number | undefined;
}

/** Longer parameter objects (tool schemas inlined) are not parsed: the span ends on the app's path. */
const MAX_PARAMETERS_JSON = 4096;

function invocationParameters(a: Attributes): InvocationParameters | undefined {
  const json = a[OPENINFERENCE.invocationParameters];
  if (typeof json !== 'string' || json.length > MAX_PARAMETERS_JSON || a[GEN_AI.temperature] !== undefined || a[GEN_AI.maxTokens] !== undefined) return undefined;
  try {
    const p = JSON.parse(json) as Record<string, unknown>;
    if (p === null || typeof p !== 'object') return undefined;
    return {
      temperature: num(p.temperature),
      maxTokens: num(p.max_tokens) ?? num(p.max_completion_tokens) ?? num(p.max_output_tokens) ?? num(p.maxTokens),
      topP: num(p.top_p) ?? num(p.topP),
    };
  } catch {
    return undefined;
  }
}

/** Input and output tokens, completed from a total when a tool reports only one of them with it. */
function tokens(a: Attributes): { input: number | undefined; output: number | undefined } {
  let input = num(a[GEN_AI.inputTokens]) ?? num(a[GEN_AI_LEGACY.promptTokens]) ?? num(a[OPENINFERENCE.promptTokens]);
  let output = num(a[GEN_AI.outputTokens]) ?? num(a[GEN_AI_LEGACY.completionTokens]) ?? num(a[OPENINFERENCE.completionTokens]);
  if (input === undefined || output === undefined) {
    const total = num(a[TRACELOOP.genAiTotalTokens]) ?? num(a[TRACELOOP.totalTokens]) ?? num(a[OPENINFERENCE.totalTokens]);
    if (total !== undefined) {
      if (input === undefined && output !== undefined && total >= output) input = total - output;
      else if (output === undefined && input !== undefined && total >= input) output = total - input;
    }
  }
  return { input, output };
}

/** Prices a call from its usage: `null` when the model has no price (`LlmRuntime.price`). */
export interface CallPricer {
  price(provider: string, responseModel: string | undefined, model: string, usage: LlmUsage): number | null | undefined;
}

/**
 * Attributes → record: a finished GenAI span of any instrumentation (OpenTelemetry's, the
 * Anthropic SDK's own, LangChain's, older semconv names, OpenLLMetry's `llm.*` and
 * OpenInference's) as an LLM-call record. `ctx` fills what the span does not say. A span with
 * tokens but no cost attribute is priced by `pricer` (the recording instance's price book) here,
 * in the one object literal: copying the record afterwards to add its cost (`{ ...r, costUsd }`)
 * costs a new hidden class per call on Node 20. Undefined for spans that are not GenAI
 * operations, and for groupings (AI SDK step spans, OpenInference chains). Agent spans
 * (`invoke_agent`) keep their duration but not their tokens and cost, which are their model calls'.
 */
export function recordFromSpan(span: ReadableSpan, ctx: ContextFields | undefined, pricer?: CallPricer): LlmCallRecord | undefined {
  const a = span.attributes;
  const operation = genAiOperation(a);
  if (operation === undefined || GROUPINGS.has(operation)) return undefined;
  // An agent span repeats its model calls' tokens: counted there, not twice (its duration still counts).
  const aggregate = AGGREGATES.has(operation);
  const [s, ns] = span.duration;
  const failed = span.status.code === SpanStatusCode.ERROR;
  const id = span.spanContext();
  const { input, output } = aggregate ? { input: undefined, output: undefined } : tokens(a);
  const params = invocationParameters(a);
  const responseModel = str(a[GEN_AI.responseModel]) ?? str(a[OPENINFERENCE.responseModelName]);
  const providerName = provider(a);
  const model = str(a[GEN_AI.requestModel]) ?? str(a[OPENINFERENCE.requestModelName]) ?? str(a[OPENINFERENCE.modelName])
    ?? str(a[OPENINFERENCE.embeddingModelName]) ?? responseModel ?? 'unknown';
  const cacheReadTokens = aggregate ? undefined : num(a[GEN_AI.cacheReadTokens]) ?? num(a[TRACELOOP.cacheReadTokens]) ?? num(a[OPENINFERENCE.cacheReadTokens]);
  const cacheCreationTokens = aggregate ? undefined : num(a[GEN_AI.cacheCreationTokens]) ?? num(a[GEN_AI_LEGACY.cacheWriteTokens])
    ?? num(a[TRACELOOP.cacheCreationTokens]) ?? num(a[OPENINFERENCE.cacheWriteTokens]);
  const reasoningTokens = aggregate ? undefined : num(a[GEN_AI.reasoningTokens]) ?? num(a[TRACELOOP.reasoningTokens]) ?? num(a[OPENINFERENCE.reasoningTokens]);
  let costUsd: number | null | undefined = aggregate ? undefined : num(a[LLMSCOPE.costUsd]);
  if (costUsd === undefined && pricer !== undefined && (input !== undefined || output !== undefined)) {
    costUsd = pricer.price(providerName, responseModel, model, { inputTokens: input, outputTokens: output, cacheReadTokens, cacheCreationTokens, reasoningTokens });
  }
  return {
    traceId: id.traceId,
    spanId: id.spanId,
    requestSpanId: ctx?.span?.spanContext().spanId,
    operation,
    provider: providerName,
    model,
    responseModel,
    responseId: str(a[GEN_AI.responseId]),
    finishReasons: strings(a[GEN_AI.finishReasons]),
    temperature: num(a[GEN_AI.temperature]) ?? params?.temperature,
    maxTokens: num(a[GEN_AI.maxTokens]) ?? params?.maxTokens,
    topP: num(a[GEN_AI.topP]) ?? params?.topP,
    startTimeMs: span.startTime[0] * 1000 + span.startTime[1] / 1e6,
    seconds: s + ns / 1e9,
    timeToFirstChunk: ttft(a),
    inputTokens: input,
    outputTokens: output,
    cacheReadTokens,
    cacheCreationTokens,
    reasoningTokens,
    usageEstimated: a[LLMSCOPE.usageEstimated] === true,
    costUsd,
    retries: num(a[LLMSCOPE.retries]) ?? 0,
    outcome: failed ? 'error' : 'ok',
    errorType: failed ? str(a[COMMON.errorType]) ?? '_OTHER' : undefined,
    error: failed ? spanError(span) : undefined,
    streamEnd: a[LLMSCOPE.streamCancelled] === true ? 'cancelled' : a[LLMSCOPE.streamAbandoned] === true ? 'abandoned' : undefined,
    userId: str(a[COMMON.userId]) ?? ctx?.userId,
    sessionId: str(a[GEN_AI.conversationId]) ?? str(a[COMMON.sessionId]) ?? ctx?.sessionId,
    feature: str(a[LLMSCOPE.feature]) ?? ctx?.feature,
    promptName: str(a[LLMSCOPE.promptName]) ?? ctx?.promptName,
    promptVersion: str(a[LLMSCOPE.promptVersion]) ?? ctx?.promptVersion,
    promptExperiment: str(a[LLMSCOPE.promptExperiment]) ?? (a[LLMSCOPE.promptName] === undefined ? ctx?.promptExperiment : undefined),
    inputMessages: str(a[GEN_AI.inputMessages]),
    outputMessages: str(a[GEN_AI.outputMessages]),
    source: 'span',
  };
}
