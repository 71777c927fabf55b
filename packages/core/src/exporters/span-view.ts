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
  return redactor.active ? new LazyRedactedSpan(span, redactor, redactedFields(span, redactor)) : span;
}

/**
 * A read-only span whose text fields are redacted when first read, once. A class of fixed shape
 * (not an object inheriting from the span with accessors defined on it, which V8 made ~70 µs a
 * span): handing it over costs one small object.
 */
class LazyRedactedSpan implements ReadableSpan {
  constructor(private readonly span: ReadableSpan, private readonly redactor: Redactor, private fields?: Pick<ReadableSpan, Overridable>) {}

  private redacted(): Pick<ReadableSpan, Overridable> {
    return (this.fields ??= redactedFields(this.span, this.redactor));
  }

  get name(): string { return this.redacted().name; }
  get attributes(): ReadableSpan['attributes'] { return this.redacted().attributes; }
  get events(): ReadableSpan['events'] { return this.redacted().events; }
  get links(): ReadableSpan['links'] { return this.redacted().links; }
  get status(): ReadableSpan['status'] { return this.redacted().status; }
  get kind(): ReadableSpan['kind'] { return this.span.kind; }
  get parentSpanContext(): ReadableSpan['parentSpanContext'] { return this.span.parentSpanContext; }
  get startTime(): ReadableSpan['startTime'] { return this.span.startTime; }
  get endTime(): ReadableSpan['endTime'] { return this.span.endTime; }
  get duration(): ReadableSpan['duration'] { return this.span.duration; }
  get ended(): boolean { return this.span.ended; }
  get resource(): ReadableSpan['resource'] { return this.span.resource; }
  get instrumentationScope(): ReadableSpan['instrumentationScope'] { return this.span.instrumentationScope; }
  get droppedAttributesCount(): number { return this.span.droppedAttributesCount; }
  get droppedEventsCount(): number { return this.span.droppedEventsCount; }
  get droppedLinksCount(): number { return this.span.droppedLinksCount; }
  spanContext(): ReturnType<ReadableSpan['spanContext']> {
    return this.span.spanContext();
  }
}

/**
 * Like {@link redactSpan}, but the redaction runs when a text field is first read, once: handing
 * the view over costs one small object, and a batching processor redacts on its export timer,
 * off the request path.
 */
export function lazyRedactedSpan(span: ReadableSpan, redactor: Redactor): ReadableSpan {
  return redactor.active ? new LazyRedactedSpan(span, redactor) : span;
}
