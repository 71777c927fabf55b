import { trace, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { getContext, type RequestContext } from '../context/context';
import { TRACER_NAME, type SkipsOwnSpans } from '../tracing/provider';
import { currentLlmCall } from './call';
import { currentGenAiOwner, type GenAiOwner } from './owner';
import { recordFromSpan } from './record-attributes';
import { GEN_AI, genAiOperation } from './schema';

/** What was current when a foreign GenAI span started: its request, and an llmscope call around it. */
interface SpanStart {
  ctx: RequestContext | undefined;
  /** Operation of the llmscope call the span started inside (the same call, seen twice). */
  insideOperation: string | undefined;
}

/**
 * Turns other tools' GenAI spans (OpenTelemetry's instrumentations, the Anthropic SDK's own,
 * LangChain's, older semconv names) into LLM-call records, handed to the same sinks as
 * llmscope's own calls. llmscope's own spans are skipped (their record was made when the call
 * ended), and so is a foreign span started inside an llmscope call with the same operation (the
 * Anthropic SDK's span inside `instrumentAnthropic`: one call, counted once), and so is a foreign
 * span whose child is an llmscope call with the same operation (an OpenInference or OpenLLMetry
 * span around `traceLLM` or an instrumented client: the same call seen from outside).
 *
 * Routing, with several llmscope instances in one process: a span is recorded by exactly one
 * instance, the one owning the request the span started in (captured at start, while the
 * caller's context is current), else the one owning the request it ends in, else the latest.
 */
export class ForeignGenAiSpanProcessor implements SpanProcessor, SkipsOwnSpans {
  /** It skips llmscope's own spans: their record was made when the call ended. */
  readonly skipsOwnSpans = true;
  private readonly starts = new WeakMap<object, SpanStart>();
  /** Foreign spans with an llmscope call as a direct child: span → the operation of that call. */
  private readonly around = new WeakMap<object, string>();

  onStart(span: Span, parentContext: Context): void {
    if (span.instrumentationScope.name === TRACER_NAME) {
      const op = span.attributes[GEN_AI.operation];
      if (typeof op === 'string') this.markParent(parentContext, op);
      return;
    }
    const inside = currentLlmCall.getStore();
    if (inside === undefined && genAiOperation(span.attributes) === undefined) return;
    this.starts.set(span, { ctx: getContext(), insideOperation: inside?.operation });
  }

  /**
   * An llmscope call starting directly under another tool's span (an OpenInference or OpenLLMetry
   * instrumentation that patched the SDK class, around the instance llmscope instrumented, or the
   * app's `traceLLM` inside such a span): if that span turns out to be the same operation, it is
   * the same call, already recorded.
   */
  private markParent(parentContext: Context, operation: string): void {
    const parent = trace.getSpan(parentContext) as Partial<ReadableSpan> | undefined;
    if (parent?.instrumentationScope === undefined || parent.instrumentationScope.name === TRACER_NAME) return;
    this.around.set(parent, operation);
  }

  /**
   * Marks a foreign span that started just before an llmscope call as that same call, so it is not
   * counted twice: the Anthropic SDK's `messages.stream()` starts its span, then hands it to the
   * `messages.create()` that llmscope instruments.
   */
  sameCall(span: object, operation: string): void {
    const start = this.starts.get(span);
    if (start !== undefined) start.insideOperation = operation;
  }

  /**
   * Marks the active span, when it is a foreign GenAI span, as the same call as the llmscope call
   * starting under it: the AI SDK's telemetry starts its model-call span (`chat {model}` of
   * `@ai-sdk/otel`, `ai.generateText.doGenerate` of its legacy integration) around the model call
   * that `llmscopeMiddleware` records.
   */
  sameCallAsActive(operation: string): void {
    const active = trace.getActiveSpan();
    if (active !== undefined) this.sameCall(active, operation);
  }

  onEnd(span: ReadableSpan): void {
    if (span.instrumentationScope.name === TRACER_NAME) return;
    const start = this.starts.get(span);
    const around = this.around.get(span);
    if (start?.insideOperation !== undefined || around !== undefined) {
      const op = genAiOperation(span.attributes);
      if (op === undefined || op === start?.insideOperation || op === around) return;
    }
    const ctx = start?.ctx ?? getContext();
    const owner = (ctx?.owner as GenAiOwner | undefined) ?? currentGenAiOwner();
    if (owner === undefined) return;
    const record = recordFromSpan(span, ctx, owner.genai);
    if (record !== undefined) owner.genai.emit(record, ctx);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The one processor reading other tools' GenAI spans; attached to `llmscopeSpanProcessor` by the first instance. */
export const foreignGenAiSpans = new ForeignGenAiSpanProcessor();
