import type { Context } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from './redact';
import type { ResolvedLogging } from './options';

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more]` : text;
}

/** Span attributes copied to the LLM log line, under these names. */
const FIELDS: [string, string][] = [
  ['gen_ai.operation.name', 'operation'],
  ['gen_ai.provider.name', 'provider'],
  ['gen_ai.request.model', 'model'],
  ['gen_ai.response.model', 'response_model'],
  ['llmscope.prompt.name', 'prompt_name'],
  ['llmscope.prompt.version', 'prompt_version'],
  ['gen_ai.request.temperature', 'temperature'],
  ['gen_ai.request.max_tokens', 'max_tokens'],
  ['gen_ai.request.top_p', 'top_p'],
  ['gen_ai.usage.input_tokens', 'input_tokens'],
  ['gen_ai.usage.output_tokens', 'output_tokens'],
  ['llmscope.cost.usd', 'cost_usd'],
  ['llmscope.feature', 'feature'],
  ['error.type', 'error_type'],
];

/**
 * Writes one JSON line per LLM call (each GenAI span that ends): model, prompt version,
 * parameters, tokens, cost, latency, user, session, trace and span id; prompt and completion
 * only when content capture put them on the span and logging's `captureContent` is on,
 * clipped and redacted. Runs when the span ends, so the line carries the LLM span's own ids.
 */
export class LlmLogProcessor implements SpanProcessor {
  constructor(private readonly logging: ResolvedLogging, private readonly redactor: Redactor) {}

  onStart(_span: Span, _parentContext: Context): void {
    // The line is written when the call ends.
  }

  onEnd(span: ReadableSpan): void {
    const a = span.attributes;
    if (a['gen_ai.operation.name'] === undefined) return;
    const ctx = span.spanContext();
    const line: Record<string, unknown> = { event: 'llm_call' };
    for (const [key, name] of FIELDS) if (a[key] !== undefined) line[name] = a[key];
    line.duration_ms = Math.round(hrTimeToMilliseconds(span.duration) * 100) / 100;
    line.outcome = span.status.code === 2 ? 'error' : 'ok';
    const user = a['user.id'];
    const session = a['gen_ai.conversation.id'] ?? a['session.id'];
    if (typeof user === 'string') line.user_id = this.redactor.string(user);
    if (typeof session === 'string') line.session_id = this.redactor.string(session);
    line.trace_id = ctx.traceId;
    line.span_id = ctx.spanId;
    if (this.logging.captureContent) {
      const input = a['gen_ai.input.messages'];
      const output = a['gen_ai.output.messages'];
      if (typeof input === 'string') line.input = clip(this.redactor.string(input), this.logging.maxContentLength);
      if (typeof output === 'string') line.output = clip(this.redactor.string(output), this.logging.maxContentLength);
    }
    try {
      if (line.outcome === 'error') this.logging.logger.warn(line, 'llm call');
      else this.logging.logger.info(line, 'llm call');
    } catch {
      // Logging never fails the app.
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
