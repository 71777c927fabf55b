import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../logging/redact';

/** The fields of a span that a view can replace: everything that can hold app text. */
type Overridable = 'name' | 'attributes' | 'events' | 'links' | 'status';

/**
 * A read-only view of `span` with some fields replaced. The span itself is never modified: other
 * processors (the console, the app's own exporters) see it as recorded. The view inherits from
 * the span, so `spanContext()` and every other field keep working.
 */
export function spanView(span: ReadableSpan, overrides: Partial<Pick<ReadableSpan, Overridable>>): ReadableSpan {
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

/** The redacted values of the fields of `span` that can hold app text. */
function redactedFields(span: ReadableSpan, redactor: Redactor): Pick<ReadableSpan, Overridable> {
  const events: TimedEvent[] = span.events.map((e) => (e.attributes === undefined ? { ...e, name: redactor.string(e.name) } : { ...e, name: redactor.string(e.name), attributes: redactAttributes(redactor, e.attributes) }));
  const links = span.links.length === 0 ? span.links : span.links.map((l) => (l.attributes === undefined ? l : { ...l, attributes: redactAttributes(redactor, l.attributes) }));
  const status = span.status.message === undefined ? span.status : { ...span.status, message: redactor.string(span.status.message) };
  return { name: redactor.string(span.name), attributes: redactAttributes(redactor, span.attributes), events, links, status };
}

/**
 * `span` with secrets and e-mail addresses removed from its name, attributes, events (exception
 * messages and stacks), links and status message. Redacts now: for exporters, at export time.
 */
export function redactSpan(span: ReadableSpan, redactor: Redactor): ReadableSpan {
  if (!redactor.active) return span;
  return spanView(span, redactedFields(span, redactor));
}

const LAZY_FIELDS: readonly Overridable[] = ['name', 'attributes', 'events', 'links', 'status'];

/**
 * Like {@link redactSpan}, but the redaction runs when a field is first read, once: handing the
 * view over costs an object and five accessors, and a batching processor redacts on its export
 * timer, off the request path.
 */
export function lazyRedactedSpan(span: ReadableSpan, redactor: Redactor): ReadableSpan {
  if (!redactor.active) return span;
  let fields: Pick<ReadableSpan, Overridable> | undefined;
  const view = Object.create(span) as ReadableSpan;
  for (const key of LAZY_FIELDS) {
    Object.defineProperty(view, key, { get: () => (fields ??= redactedFields(span, redactor))[key], enumerable: true });
  }
  return view;
}
