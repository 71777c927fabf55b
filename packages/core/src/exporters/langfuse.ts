import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Attributes } from '@opentelemetry/api';
import type { Redactor } from '../logging/redact';
import { TRACER_NAME } from '../tracing/provider';
import { COMMON, GEN_AI, GEN_AI_LEGACY, LLMSCOPE } from '../genai/schema';
import type { TelemetryHealth } from './health';
import { loadOptional } from './optional';
import type { ResolvedExporters } from './options';
import { BoundedExportProcessor, type QueueLimits } from './queue';
import { redactSpan, spanView } from './span-view';

type LangfuseOtel = typeof import('@langfuse/otel');

/** Langfuse observation type of a GenAI operation (`gen_ai.operation.name`). */
const OBSERVATION_TYPES: Record<string, string> = {
  chat: 'generation', text_completion: 'generation', generate_content: 'generation',
  embeddings: 'embedding', retrieval: 'retriever', execute_tool: 'tool', invoke_agent: 'agent', create_agent: 'agent',
};

/** Attribute names a cost in USD may be recorded under (llmscope's own first). */
const COST_ATTRIBUTES = [LLMSCOPE.costUsd, 'llmscope.llm.cost_usd', 'gen_ai.usage.cost', 'gen_ai.usage.cost_usd'];

/** Request parameters (`gen_ai.request.*`) → their names in Langfuse's model parameters. */
const MODEL_PARAMETERS = [
  [GEN_AI.temperature, 'temperature'], [GEN_AI.maxTokens, 'max_tokens'], [GEN_AI.topP, 'top_p'], [GEN_AI.topK, 'top_k'],
  ['gen_ai.request.frequency_penalty', 'frequency_penalty'], ['gen_ai.request.presence_penalty', 'presence_penalty'], ['gen_ai.request.seed', 'seed'],
] as const;

/** Langfuse's OTel attributes (`LangfuseOtelSpanAttributes` of `@langfuse/core`). */
const LANGFUSE = {
  type: 'langfuse.observation.type',
  model: 'langfuse.observation.model.name',
  parameters: 'langfuse.observation.model.parameters',
  usage: 'langfuse.observation.usage_details',
  cost: 'langfuse.observation.cost_details',
  completionStart: 'langfuse.observation.completion_start_time',
  promptName: 'langfuse.observation.prompt.name',
  promptVersion: 'langfuse.observation.prompt.version',
  traceName: 'langfuse.trace.name',
} as const;

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Seconds from the start of the call to its first chunk, as llmscope or the AI SDK recorded it. */
function timeToFirstChunk(a: Attributes): number | undefined {
  const seconds = numberOf(a[GEN_AI.timeToFirstChunk]) ?? numberOf(a[GEN_AI_LEGACY.clientTimeToFirstChunk]);
  if (seconds !== undefined) return seconds;
  const ms = numberOf(a[GEN_AI_LEGACY.aiSdkMsToFirstChunk]);
  return ms === undefined ? undefined : ms / 1000;
}

/**
 * Usage in Langfuse's usage types, which do not overlap (Langfuse prices each and adds them up):
 * `input` is the uncached input, `input_cached_tokens` and `input_cache_creation` the prompt
 * cache's reads and writes, `output` the output without `output_reasoning_tokens`, and `total`
 * every token, as its own OTel ingestion splits the GenAI conventions' counts (which include
 * their parts).
 */
function usageDetails(a: Attributes): Record<string, number> | undefined {
  const input = numberOf(a[GEN_AI.inputTokens]);
  const output = numberOf(a[GEN_AI.outputTokens]);
  if (input === undefined && output === undefined) return undefined;
  const cacheRead = numberOf(a[GEN_AI.cacheReadTokens]) ?? 0;
  const cacheCreation = numberOf(a[GEN_AI.cacheCreationTokens]) ?? 0;
  const reasoning = numberOf(a[GEN_AI.reasoningTokens]) ?? 0;
  const usage: Record<string, number> = {
    input: Math.max(0, (input ?? 0) - cacheRead - cacheCreation),
    output: Math.max(0, (output ?? 0) - reasoning),
    total: (input ?? 0) + (output ?? 0),
  };
  if (cacheRead > 0) usage.input_cached_tokens = cacheRead;
  if (cacheCreation > 0) usage.input_cache_creation = cacheCreation;
  if (reasoning > 0) usage.output_reasoning_tokens = reasoning;
  return usage;
}

/**
 * Adds the `langfuse.*` attributes Langfuse reads, derived from llmscope's OpenTelemetry GenAI
 * attributes: observation type, model, model parameters, usage details, cost details, the time
 * of the first streamed chunk (the generation's completion start time, from which Langfuse shows
 * the time to first token), the prompt link (`langfuse.observation.prompt.name/version`) and the
 * session (`session.id`, which llmscope records on LLM spans as `gen_ai.conversation.id`). The
 * span itself is left untouched; this runs at export time, off the request path.
 */
export function langfuseView(span: ReadableSpan): ReadableSpan {
  const a = span.attributes;
  const extra: Attributes = {};
  const operation = a[GEN_AI.operation];
  if (typeof operation === 'string' && OBSERVATION_TYPES[operation] !== undefined && a[LANGFUSE.type] === undefined) {
    extra[LANGFUSE.type] = OBSERVATION_TYPES[operation];
  }
  const model = a[GEN_AI.responseModel] ?? a[GEN_AI.requestModel];
  if (typeof model === 'string') extra[LANGFUSE.model] = model;
  let params: Record<string, number> | undefined;
  for (const [key, name] of MODEL_PARAMETERS) {
    const v = numberOf(a[key]);
    if (v !== undefined) (params ??= {})[name] = v;
  }
  if (params !== undefined && a[LANGFUSE.parameters] === undefined) extra[LANGFUSE.parameters] = JSON.stringify(params);
  const usage = usageDetails(a);
  if (usage !== undefined && a[LANGFUSE.usage] === undefined) extra[LANGFUSE.usage] = JSON.stringify(usage);
  if (a[LANGFUSE.cost] === undefined) {
    for (const key of COST_ATTRIBUTES) {
      const cost = numberOf(a[key]);
      if (cost !== undefined) {
        // The total only: llmscope prices a call as a whole (its price table has no per-type split to show).
        extra[LANGFUSE.cost] = JSON.stringify({ total: cost });
        break;
      }
    }
  }
  const ttft = timeToFirstChunk(a);
  if (ttft !== undefined && a[LANGFUSE.completionStart] === undefined) {
    const startMs = span.startTime[0] * 1000 + span.startTime[1] / 1e6;
    extra[LANGFUSE.completionStart] = new Date(startMs + ttft * 1000).toISOString();
  }
  const promptName = a[LLMSCOPE.promptName];
  const promptVersion = a[LLMSCOPE.promptVersion];
  // Langfuse prompt versions are integers: a name with a label such as "v2-beta" or "fallback"
  // (a fallback prompt) links to no prompt and stays in llmscope.prompt.*.
  const version = typeof promptVersion === 'number' ? promptVersion : typeof promptVersion === 'string' && promptVersion !== '' ? Number(promptVersion) : NaN;
  if (typeof promptName === 'string' && Number.isInteger(version) && a[LANGFUSE.promptName] === undefined) {
    extra[LANGFUSE.promptName] = promptName;
    extra[LANGFUSE.promptVersion] = version;
  }
  if (a[COMMON.sessionId] === undefined && typeof a[GEN_AI.conversationId] === 'string') extra[COMMON.sessionId] = a[GEN_AI.conversationId];
  if (span.parentSpanContext === undefined || span.parentSpanContext.isRemote === true) {
    // The request span is the trace's root in Langfuse: give the trace its name and tags.
    extra[LANGFUSE.traceName] = span.name;
  }
  if (Object.keys(extra).length === 0) return span;
  return spanView(span, { attributes: { ...a, ...extra } });
}

/**
 * A SpanExporter that hands `@langfuse/otel`'s processed spans to llmscope's bounded queue
 * instead of sending them itself: Langfuse's processor keeps doing its work (environment,
 * release, propagated attributes, masking, span filter), and the network side is bounded,
 * counted and timed out like every other llmscope exporter.
 */
class QueueSink implements SpanExporter {
  constructor(private readonly queue: BoundedExportProcessor) {}
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    for (const span of spans) this.queue.enqueue(span);
    resultCallback({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The Langfuse exporter: `@langfuse/otel`'s `LangfuseSpanProcessor` (loaded only when Langfuse
 * is configured), whose filter also lets llmscope's request and RAG-step spans through, feeding
 * a bounded queue that exports OTLP/HTTP to `<baseUrl>/api/public/otel/v1/traces` with Basic auth.
 */
export class LangfuseExportProcessor implements SpanProcessor {
  private readonly inner: SpanProcessor;
  readonly queue: BoundedExportProcessor;

  constructor(config: NonNullable<ResolvedExporters['langfuse']>, limits: QueueLimits, health: TelemetryHealth, redactor: Redactor) {
    const { LangfuseSpanProcessor, isDefaultExportSpan } = loadOptional<LangfuseOtel>('@langfuse/otel', 'the Langfuse exporter');
    const exporter = new OTLPTraceExporter({
      url: `${config.baseUrl}/api/public/otel/v1/traces`,
      headers: {
        Authorization: `Basic ${Buffer.from(`${config.publicKey}:${config.secretKey}`).toString('base64')}`,
        'x-langfuse-sdk-name': 'javascript',
        'x-langfuse-public-key': config.publicKey,
      },
      timeoutMillis: limits.exportTimeoutMs,
    });
    this.queue = new BoundedExportProcessor('langfuse', exporter, health, limits, (span) => redactSpan(langfuseView(span), redactor));
    const custom = config.shouldExportSpan;
    this.inner = new LangfuseSpanProcessor({
      publicKey: config.publicKey,
      secretKey: config.secretKey,
      baseUrl: config.baseUrl,
      environment: config.environment,
      release: config.release,
      exporter: new QueueSink(this.queue),
      // Spans reach the queue at once; batching happens there.
      exportMode: 'immediate',
      // Media upload would be network I/O outside the bounded queue.
      mediaUploadEnabled: false,
      shouldExportSpan: ({ otelSpan }) => (custom !== undefined ? custom(otelSpan) : otelSpan.instrumentationScope.name === TRACER_NAME || isDefaultExportSpan(otelSpan)),
    });
  }

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.inner.onEnd(span);
  }

  async forceFlush(): Promise<void> {
    await this.inner.forceFlush();
    await this.queue.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.inner.shutdown().catch(() => undefined);
    await this.queue.shutdown();
  }
}
