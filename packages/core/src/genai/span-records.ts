import { SpanStatusCode, trace, type Attributes, type Context, type Span as ApiSpan } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { getContext, type RequestContext } from '../context/context';
import type { LlmCallRecord } from './metrics';
import { currentRecorder } from '../context/recorder';

/**
 * Spans whose metrics llmscope records itself (traceLLM and the instrumented clients), with their
 * operation. They are recorded when the call ends, even when the span is not sampled or tracing
 * is off, so this processor must not count them a second time.
 */
const recordedDirectly = new WeakMap<object, string>();

/** Spans started directly under a directly recorded span, with that span's operation. */
const nestedIn = new WeakMap<object, string>();

/** The request context a foreign GenAI span started in (for routing and attribution). */
const startContexts = new WeakMap<object, RequestContext>();

/** Marks `span` as recorded by llmscope itself (called right after it starts). */
export function markRecordedDirectly(span: ApiSpan, operation: string): void {
  recordedDirectly.set(span, operation);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Whether attributes describe a GenAI operation (current or pre-1.37 conventions). */
function isGenAi(a: Attributes): boolean {
  return a['gen_ai.operation.name'] !== undefined
    || ((a['gen_ai.provider.name'] !== undefined || a['gen_ai.system'] !== undefined) && a['gen_ai.request.model'] !== undefined);
}

/**
 * Turns a finished GenAI span into a metrics record, from its attributes only, so that spans of
 * any instrumentation following the GenAI conventions (OpenTelemetry's, the Anthropic SDK's own,
 * LangChain's, ...) count. Exported for tests and for custom processors.
 */
export function recordFromSpan(span: ReadableSpan, ctx: RequestContext | undefined): LlmCallRecord | undefined {
  const a = span.attributes;
  if (!isGenAi(a)) return undefined;
  const [s, ns] = span.duration;
  const input = num(a['gen_ai.usage.input_tokens']) ?? num(a['gen_ai.usage.prompt_tokens']);
  const output = num(a['gen_ai.usage.output_tokens']) ?? num(a['gen_ai.usage.completion_tokens']);
  const failed = span.status.code === SpanStatusCode.ERROR;
  const cost = num(a['llmscope.cost.usd']);
  return {
    operation: str(a['gen_ai.operation.name']) ?? 'chat',
    provider: str(a['gen_ai.provider.name']) ?? str(a['gen_ai.system']) ?? 'unknown',
    model: str(a['gen_ai.request.model']) ?? str(a['gen_ai.response.model']) ?? 'unknown',
    seconds: s + ns / 1e9,
    inputTokens: input,
    outputTokens: output,
    error: failed,
    errorType: failed ? str(a['error.type']) ?? '_OTHER' : undefined,
    responseModel: str(a['gen_ai.response.model']),
    cacheReadTokens: num(a['gen_ai.usage.cache_read.input_tokens']),
    // `cache_write` is what the Anthropic SDK's own spans use.
    cacheCreationTokens: num(a['gen_ai.usage.cache_creation.input_tokens']) ?? num(a['gen_ai.usage.cache_write.input_tokens']),
    timeToFirstChunk: num(a['gen_ai.response.time_to_first_chunk']),
    retries: undefined,
    costUsd: cost,
    feature: str(a['llmscope.feature']) ?? ctx?.feature,
    promptName: str(a['llmscope.prompt.name']) ?? ctx?.promptName,
    promptVersion: str(a['llmscope.prompt.version']) ?? ctx?.promptVersion,
    userId: str(a['user.id']) ?? ctx?.userId,
    sessionId: str(a['gen_ai.conversation.id']) ?? ctx?.sessionId,
  };
}

/**
 * Derives the LLM metrics from every finished span with GenAI attributes that llmscope did not
 * record itself. One process-wide instance hangs off `llmscopeSpanProcessor`.
 *
 * Routing, with several llmscope instances in one process: a span is recorded by exactly one
 * instance, the one owning the request the span started in (its context is captured at start,
 * when the caller's AsyncLocalStorage is still current), else the one owning the request it
 * ends in, else the latest instance created. Since there is one processor, not one per instance,
 * nothing is counted twice.
 */
export class GenAiSpanMetricsProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    const parent = trace.getSpan(parentContext);
    if (parent !== undefined) {
      const parentOperation = recordedDirectly.get(parent);
      // e.g. the Anthropic SDK's own span, or @opentelemetry/instrumentation-openai's, inside
      // traceLLM()/instrumentOpenAI(): the same call, already counted.
      if (parentOperation !== undefined) {
        nestedIn.set(span, parentOperation);
        return;
      }
    }
    if (!isGenAi(span.attributes)) return;
    const ctx = getContext();
    if (ctx !== undefined) startContexts.set(span, ctx);
  }

  onEnd(span: ReadableSpan): void {
    if (recordedDirectly.has(span)) return;
    const parentOperation = nestedIn.get(span);
    if (parentOperation !== undefined) {
      const op = span.attributes['gen_ai.operation.name'];
      if (op === undefined || op === parentOperation) return;
    }
    const ctx = startContexts.get(span) ?? getContext();
    const record = recordFromSpan(span, ctx);
    if (record === undefined) return;
    const recorder = ctx?.owner ?? currentRecorder();
    recorder?.recordLlmCall(record);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The one processor deriving GenAI metrics from spans; attached to `llmscopeSpanProcessor` by the first instance. */
export const genAiSpanMetrics = new GenAiSpanMetricsProcessor();
