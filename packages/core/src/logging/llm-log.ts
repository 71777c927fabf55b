import type { LlmCallRecord } from '../genai/record';
import type { Redactor } from './redact';
import type { ResolvedLogging } from './options';

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more]` : text;
}

/**
 * The one `llm_call` log line of an LLM call, from its record: model, prompt version,
 * parameters, tokens, cost, latency, outcome, user, session, trace and span id; prompt and
 * completion only when content capture recorded them and logging's `captureContent` is on,
 * clipped and redacted. Fields a call does not have are left out.
 */
export function llmLogLine(r: LlmCallRecord, logging: ResolvedLogging, redactor: Redactor): Record<string, unknown> {
  const line: Record<string, unknown> = { event: 'llm_call', operation: r.operation, provider: r.provider, model: r.model };
  if (r.responseModel !== undefined) line.response_model = r.responseModel;
  if (r.promptName !== undefined) line.prompt_name = r.promptName;
  if (r.promptVersion !== undefined) line.prompt_version = r.promptVersion;
  if (r.promptExperiment !== undefined) line.prompt_experiment = r.promptExperiment;
  if (r.temperature !== undefined) line.temperature = r.temperature;
  if (r.maxTokens !== undefined) line.max_tokens = r.maxTokens;
  if (r.topP !== undefined) line.top_p = r.topP;
  if (r.inputTokens !== undefined) line.input_tokens = r.inputTokens;
  if (r.outputTokens !== undefined) line.output_tokens = r.outputTokens;
  if (typeof r.costUsd === 'number') line.cost_usd = r.costUsd;
  if (r.feature !== undefined) line.feature = r.feature;
  line.duration_ms = Math.round(r.seconds * 100000) / 100;
  if (r.timeToFirstChunk !== undefined) line.ttft_ms = Math.round(r.timeToFirstChunk * 100000) / 100;
  if (r.retries > 0) line.retries = r.retries;
  line.outcome = r.outcome;
  if (r.errorType !== undefined) line.error_type = r.errorType;
  if (r.userId !== undefined) line.user_id = redactor.string(r.userId);
  if (r.sessionId !== undefined) line.session_id = redactor.string(r.sessionId);
  if (r.traceId !== undefined) line.trace_id = r.traceId;
  if (r.spanId !== undefined) line.span_id = r.spanId;
  if (logging.captureContent) {
    if (r.inputMessages !== undefined) line.input = clip(redactor.string(r.inputMessages), logging.maxContentLength);
    if (r.outputMessages !== undefined) line.output = clip(redactor.string(r.outputMessages), logging.maxContentLength);
  }
  return line;
}
