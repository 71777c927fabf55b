import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../logging/redact';

/**
 * A read-only view of `span` with some fields replaced. The span itself is never modified: other
 * processors (the console, the app's own exporters) see it as recorded. The view inherits from
 * the span, so `spanContext()` and every other field keep working.
 */
export function spanView(span: ReadableSpan, overrides: Partial<Pick<ReadableSpan, 'attributes' | 'events' | 'status'>>): ReadableSpan {
  const view = Object.create(span) as ReadableSpan;
  for (const [key, value] of Object.entries(overrides)) Object.defineProperty(view, key, { value, enumerable: true });
  return view;
}

function redactValue(redactor: Redactor, value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') return redactor.string(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? redactor.string(v) : v)) as AttributeValue;
  return value;
}

function redactAttributes(redactor: Redactor, attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const key in attributes) out[key] = redactValue(redactor, attributes[key]);
  return out;
}

/** `span` with secrets and e-mail addresses removed from attributes, events and status message. */
export function redactSpan(span: ReadableSpan, redactor: Redactor): ReadableSpan {
  if (!redactor.active) return span;
  const events: TimedEvent[] = span.events.map((e) => (e.attributes === undefined ? e : { ...e, attributes: redactAttributes(redactor, e.attributes) }));
  const status = span.status.message === undefined ? span.status : { ...span.status, message: redactor.string(span.status.message) };
  return spanView(span, { attributes: redactAttributes(redactor, span.attributes), events, status });
}
