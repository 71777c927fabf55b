import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Attributes } from '@opentelemetry/api';
import { EVALUATION } from '../genai/schema';
import { getTracer } from '../tracing/provider';
import type { ScoreRecord } from './score';

/**
 * A score sink that puts the score on its trace, during the request or minutes later: a short
 * `evaluation {name}` span, child of the scored span (the LLM call's, else the request's), with
 * the semantic conventions' `gen_ai.evaluation.result` event. A span of its own because the
 * scored span has usually ended by the time a score arrives.
 */
export function traceScore(s: ScoreRecord): void {
  if (s.traceId === undefined || s.spanId === undefined) return;
  const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false });
  const attributes: Attributes = { [EVALUATION.name]: s.name, [EVALUATION.source]: s.source, [EVALUATION.evaluator]: s.evaluator };
  if (s.numericValue !== undefined) attributes[EVALUATION.scoreValue] = s.numericValue;
  else attributes[EVALUATION.scoreLabel] = String(s.value);
  if (s.comment !== undefined) attributes[EVALUATION.explanation] = s.comment;
  const span = getTracer().startSpan(`evaluation ${s.name}`, { kind: SpanKind.INTERNAL, attributes }, parent);
  span.addEvent(EVALUATION.event, attributes);
  span.end();
}
