import { diag, type Attributes, type AttributeValue, type Link } from '@opentelemetry/api';
import { isAttributeValue, sanitizeAttributes } from '@opentelemetry/core';
import type { SpanLimits, TimedEvent } from '@opentelemetry/sdk-trace-base';

/** The limits the SDK's tracer provider applies when none are configured (sdk-trace's TracerProvider). */
export const DEFAULT_SPAN_LIMITS: Readonly<Required<SpanLimits>> = Object.freeze({
  attributeCountLimit: 128,
  attributeValueLengthLimit: Infinity,
  eventCountLimit: 128,
  linkCountLimit: 128,
  attributePerEventCountLimit: 128,
  attributePerLinkCountLimit: 128,
});

/**
 * The span limits an SDK tracer applies (its configuration, environment variables included), read
 * from the tracer; the SDK's defaults when it does not show them.
 */
export function tracerSpanLimits(tracer: object): Readonly<SpanLimits> {
  const limits = (tracer as Partial<{ _spanLimits: SpanLimits }>)._spanLimits;
  return limits !== null && typeof limits === 'object' ? limits : DEFAULT_SPAN_LIMITS;
}

/** What an ended span shows once the SDK's rules were applied to what it recorded. */
export interface LimitedSpanData {
  attributes: Attributes;
  droppedAttributesCount: number;
  events: TimedEvent[];
  droppedEventsCount: number;
  links: Link[];
  droppedLinksCount: number;
}

/**
 * Applies the SDK span's rules to what a span recorded without them (a lean span, at export):
 * invalid keys and values dropped, the attribute count limit (first keys kept), value length
 * truncation, the event and link count limits (latest kept), and per event and per link the same
 * attribute rules. The result is what `SpanImpl` would hold after the same calls with the final
 * values (a key set valid then invalid is dropped here, where the SDK keeps the valid value).
 */
export function applySpanLimits(attributes: Attributes, events: readonly TimedEvent[], links: readonly Link[], limits: Readonly<SpanLimits>): LimitedSpanData {
  const valueLimit = limits.attributeValueLengthLimit ?? 0;
  const own = spanAttributes(attributes, limits.attributeCountLimit, valueLimit);
  const keptEvents = latest(events, limits.eventCountLimit, (e): TimedEvent => {
    const a = limitedAttributes(e.attributes, limits.attributePerEventCountLimit, valueLimit);
    return { name: e.name, attributes: a.attributes, time: e.time, droppedAttributesCount: a.dropped };
  });
  const keptLinks = latest(links, limits.linkCountLimit, (l): Link => {
    const a = limitedAttributes(l.attributes, limits.attributePerLinkCountLimit, valueLimit);
    const link: Link = { context: l.context };
    if (a.count > 0) link.attributes = a.attributes;
    if (a.dropped > 0) link.droppedAttributesCount = a.dropped;
    return link;
  });
  return {
    attributes: own.attributes, droppedAttributesCount: own.dropped,
    events: keptEvents, droppedEventsCount: events.length - keptEvents.length,
    links: keptLinks, droppedLinksCount: links.length - keptLinks.length,
  };
}

/**
 * The last `limit` items (the SDK drops the oldest event or link past its limit), each through
 * `bound`; an empty list is returned as it is (most spans have no events and no links).
 */
function latest<T>(items: readonly T[], limit: number | undefined, bound: (item: T) => T): T[] {
  if (items.length === 0) return items as T[];
  const kept = limit === undefined || items.length <= limit ? items : limit <= 0 ? [] : items.slice(items.length - limit);
  return kept.map(bound);
}

/**
 * The span's own attributes under the SDK's rules. The usual case (every value valid, under the
 * count limit, nothing to truncate) returns the object as it is: no copy per exported span.
 */
function spanAttributes(attributes: Attributes, countLimit: number | undefined, valueLimit: number): { attributes: Attributes; dropped: number } {
  let count = 0;
  let clean = true;
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = attributes[key];
    if (value == null || key.length === 0 || !isAttributeValue(value) || (countLimit !== undefined && count >= countLimit) || truncate(value, valueLimit) !== value) {
      clean = false;
      break;
    }
    count++;
  }
  if (clean) return { attributes, dropped: 0 };
  const kept: Attributes = {};
  count = 0;
  let dropped = 0;
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = attributes[key];
    if (value == null) continue;
    if (key.length === 0 || !isAttributeValue(value)) {
      diag.warn(`Invalid attribute set for key: ${key}`);
      continue;
    }
    if (countLimit !== undefined && count >= countLimit) {
      dropped++;
      continue;
    }
    kept[key] = truncate(value, valueLimit);
    count++;
  }
  return { attributes: kept, dropped };
}

/** An event's or a link's attributes under the SDK's rules (sanitised, counted, truncated). */
function limitedAttributes(raw: Attributes | undefined, countLimit: number | undefined, valueLimit: number): { attributes: Attributes; count: number; dropped: number } {
  const sanitized = sanitizeAttributes(raw);
  const attributes: Attributes = {};
  let count = 0;
  let dropped = 0;
  for (const key in sanitized) {
    if (!Object.prototype.hasOwnProperty.call(sanitized, key)) continue;
    if (countLimit !== undefined && count >= countLimit) {
      dropped++;
      continue;
    }
    attributes[key] = truncate(sanitized[key] as AttributeValue, valueLimit);
    count++;
  }
  return { attributes, count, dropped };
}

/**
 * `SpanImpl._truncateToSize`: strings (and strings in arrays) cut to the limit. Returns the value
 * itself when nothing is cut (the SDK also copies every array; a lean span is sealed after its end,
 * so there is no later `setAttribute` to guard against).
 */
function truncate(value: AttributeValue, limit: number): AttributeValue {
  if (limit <= 0 || limit === Infinity) return value;
  if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
  if (Array.isArray(value) && (value as unknown[]).some((v) => typeof v === 'string' && v.length > limit)) {
    return (value as unknown[]).map((v) => (typeof v === 'string' && v.length > limit ? v.substring(0, limit) : v)) as AttributeValue;
  }
  return value;
}
