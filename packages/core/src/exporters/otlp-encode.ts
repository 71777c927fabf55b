import type { AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../logging/redact';

/*
 * The OTLP/protobuf body of a batch of spans (an `ExportTraceServiceRequest` of
 * opentelemetry-proto v1: collector/trace/v1, trace/v1, common/v1, resource/v1), written straight
 * from the SDK spans into one buffer, each text field redacted as it is written.
 *
 * Why not `ProtobufTraceSerializer` (@opentelemetry/otlp-transformer) on redacted span views: the
 * views and their copies of attributes, events and links cost an object tree per span, and the
 * serializer walks every span twice (a size pass, then a write pass). Here each span is read once
 * and nothing is allocated per span but the redacted strings. The bytes are the official
 * serializer's, field for field and in the same order (test/exporters/otlp-encode.test.ts proves it
 * on generated spans): the same fields written or skipped, the same grouping by resource and
 * scope (by identity), the same integer/double split of numbers.
 */

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

// Span flags (trace/v1 SpanFlags): the W3C trace flags in the low byte, and whether the parent
// (or the linked span) is remote.
const SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK = 0x100;
const SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK = 0x200;

// Numbers in this range are written as int_value (int64), others as double_value: as the official
// serializer does (Number.isSafeInteger would turn exact large integers into doubles).
const MIN_64_BIT_INT = -(2 ** 63);
const MAX_64_BIT_INT = 2 ** 63;

const hasOwn = Object.prototype.hasOwnProperty;

const EMPTY = Buffer.alloc(0);

/** Bytes of a slab that packed chunks share (~400 typical spans). */
const SLAB_SIZE = 128 * 1024;

/** Most texts whose redacted form is kept between two batches. */
const MAX_CACHED_TEXTS = 2048;

/** Longer texts (prompts, stacks) are redacted each time: they rarely repeat, and the cache stays small. */
const MAX_CACHED_TEXT = 256;

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return isRemote ? (traceFlags & 0xff) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK | SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK : (traceFlags & 0xff) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return code - 55;
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

type Scopes = Map<InstrumentationScope, ReadableSpan[]>;

/** Encoded spans of one resource and scope: repeated `ScopeSpans.spans` fields, tags included. */
export interface EncodedGroup {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly bytes: Uint8Array;
}

/** A chunk of spans packed as bytes ({@link OtlpSpanEncoder.pack}). */
export interface EncodedSpans {
  /** How many spans. */
  readonly count: number;
  readonly groups: readonly EncodedGroup[];
}

/** An upper estimate of a ResourceSpans' length: its spans' bytes and room for the headers. */
function approximateSize(scopes: Map<InstrumentationScope, Uint8Array[]>): number {
  let n = 256;
  for (const parts of scopes.values()) {
    n += 64;
    for (const part of parts) n += part.length;
  }
  return n;
}

/**
 * Encodes batches of spans as OTLP/protobuf `ExportTraceServiceRequest` bodies, redacting with
 * `redactor` exactly what exporters/span-view.ts `redactSpan` redacts: the span name, string
 * attribute values and the string items of array values (of the span, its events and its links),
 * event names and the status message. One encoder serves one exporter (it is not re-entrant).
 */
export class OtlpSpanEncoder {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Where packed chunks are written, and how far. */
  private slab: Buffer = EMPTY;
  private slabPos = 0;
  /** Bytes per span of the last chunk: sizes the next one's room so that the buffer rarely grows. */
  private bytesPerSpan = 256;
  private readonly redactor: Redactor | undefined;
  /**
   * The redacted form of the short texts of the spans packed since the last batch was written. A
   * batch repeats most of its texts (span names, methods, routes, models, user ids): each is
   * redacted once a batch. Dropped when a batch is written (and past {@link MAX_CACHED_TEXTS}), so
   * that no text outlives the spans it came from by more than a batch.
   */
  private redacted = new Map<string, string>();

  constructor(redactor: Redactor) {
    this.redactor = redactor.active ? redactor : undefined;
  }

  /** `text` redacted (the redactor is a pure function of the text: a cached result is the same). */
  private redact(text: string): string {
    if (this.redactor === undefined) return text;
    if (typeof text !== 'string' || text.length > MAX_CACHED_TEXT) return this.redactor.string(text);
    let out = this.redacted.get(text);
    if (out === undefined) {
      out = this.redactor.string(text);
      this.redacted.set(text, out);
    }
    return out;
  }

  /** The request body of `spans` (a buffer of its own: the transport may keep it for retries). */
  encode(spans: readonly ReadableSpan[]): Uint8Array {
    return this.body([this.pack(spans)]);
  }

  /**
   * `spans` as bytes, grouped by resource and scope: what waits in the export queue in place of
   * the span objects. Chunks are written one after another into a shared slab outside the JS heap
   * (a slab is freed once its last chunk has been sent). {@link body} puts chunks together into a
   * request: the same bytes as encoding all their spans at once.
   */
  pack(spans: readonly ReadableSpan[]): EncodedSpans {
    const first = spans[0];
    if (first === undefined) return { count: 0, groups: [] };
    // A new slab when this chunk might not fit in what is left (a chunk that outgrows it anyway
    // is copied, slab and all, by `ensure`).
    const need = Math.ceil(spans.length * this.bytesPerSpan * 1.25) + 1024;
    if (this.slab.length - this.slabPos < need) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, need));
      this.slabPos = 0;
    }
    this.buf = this.slab;
    this.pos = this.slabPos;
    const start = this.pos;
    let groups: EncodedGroup[];
    if (sameResourceAndScope(spans, first.resource, first.instrumentationScope)) {
      for (let i = 0; i < spans.length; i++) this.spanField(spans[i] as ReadableSpan);
      groups = [{ resource: first.resource, scope: first.instrumentationScope, bytes: this.buf.subarray(start, this.pos) }];
    } else {
      const ranges: { resource: Resource; scope: InstrumentationScope; start: number; end: number }[] = [];
      for (const [resource, scopes] of groupByResourceAndScope(spans)) {
        for (const [scope, list] of scopes) {
          const from = this.pos;
          for (const span of list) this.spanField(span);
          ranges.push({ resource, scope, start: from, end: this.pos });
        }
      }
      // Views taken once the buffer has stopped growing.
      const buf = this.buf;
      groups = ranges.map((r) => ({ resource: r.resource, scope: r.scope, bytes: buf.subarray(r.start, r.end) }));
    }
    this.bytesPerSpan = Math.max(64, Math.ceil((this.pos - start) / spans.length));
    // A chunk that grew the buffer took the slab with it: what it wrote is in the new buffer.
    this.slab = this.buf;
    this.slabPos = this.pos;
    this.buf = EMPTY;
    if (this.redacted.size > MAX_CACHED_TEXTS) this.redacted.clear();
    return { count: spans.length, groups };
  }

  /** ScopeSpans.spans (2): one span with its tag and length. */
  private spanField(span: ReadableSpan): void {
    this.tag(2, LEN);
    this.span(span);
  }

  /** The `ExportTraceServiceRequest` of packed chunks, in order (a buffer of its own). */
  body(chunks: readonly EncodedSpans[]): Uint8Array {
    // Grouped again across chunks, by identity, in first-seen order: as the official serializer
    // groups the whole batch.
    const resources = new Map<Resource, Map<InstrumentationScope, Uint8Array[]>>();
    let size = 1024;
    for (const chunk of chunks) {
      for (const group of chunk.groups) {
        let scopes = resources.get(group.resource);
        if (scopes === undefined) {
          scopes = new Map();
          resources.set(group.resource, scopes);
        }
        const parts = scopes.get(group.scope);
        if (parts === undefined) scopes.set(group.scope, [group.bytes]);
        else parts.push(group.bytes);
        size += group.bytes.length;
      }
    }
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
    for (const [resource, scopes] of resources) {
      this.tag(1, LEN); // ExportTraceServiceRequest.resource_spans
      this.resourceSpans(resource, scopes);
    }
    const body = this.buf.subarray(0, this.pos);
    this.buf = EMPTY; // the body belongs to the caller now
    // The texts redacted for these spans go with them.
    this.redacted.clear();
    return body;
  }

  private resourceSpans(resource: Resource, scopes: Map<InstrumentationScope, Uint8Array[]>): void {
    // Sized from the parts: a ResourceSpans of a full batch is a few hundred kB, and a length
    // reserved too short would move it all.
    const reserved = varintSize(approximateSize(scopes));
    const at = this.open(reserved);
    // resource (1): Resource { attributes (1), dropped_attributes_count (2), always 0 }
    this.tag(1, LEN);
    const r = this.open(2);
    if (resource.attributes) this.attributes(resource.attributes, 1, false);
    this.tag(2, VARINT);
    this.varint(0);
    this.close(r, 2);
    for (const [scope, parts] of scopes) {
      this.tag(2, LEN); // scope_spans
      this.scopeSpans(scope, parts);
    }
    if (resource.schemaUrl) {
      this.tag(3, LEN);
      this.string(resource.schemaUrl);
    }
    this.close(at, reserved);
  }

  private scopeSpans(scope: InstrumentationScope, parts: readonly Uint8Array[]): void {
    let spanBytes = 0;
    for (const part of parts) spanBytes += part.length;
    const reserved = varintSize(spanBytes + 64);
    const at = this.open(reserved);
    // scope (1): InstrumentationScope { name (1), version (2), attributes (3), dropped_attributes_count (4) }
    this.tag(1, LEN);
    const s = this.open(1);
    this.tag(1, LEN);
    this.string(scope.name);
    if (scope.version) {
      this.tag(2, LEN);
      this.string(scope.version);
    }
    // Not in the SDK's type, but read (and written) by the official serializer when present.
    const extra = scope as InstrumentationScope & { attributes?: Record<string, AttributeValue | undefined>; droppedAttributesCount?: number };
    if (extra.attributes) this.attributes(extra.attributes, 3, false);
    if (extra.droppedAttributesCount) {
      this.tag(4, VARINT);
      this.varint(extra.droppedAttributesCount);
    }
    this.close(s, 1);
    // spans (2): already encoded, each with its tag and length.
    this.ensure(spanBytes);
    for (const part of parts) {
      this.buf.set(part, this.pos);
      this.pos += part.length;
    }
    if (scope.schemaUrl) {
      this.tag(3, LEN);
      this.string(scope.schemaUrl);
    }
    this.close(at, reserved);
  }

  private span(span: ReadableSpan): void {
    const at = this.open(2);
    const ctx = span.spanContext();
    this.ids(ctx);
    const parent = span.parentSpanContext;
    if (parent?.spanId) {
      this.tag(4, LEN);
      this.hex(parent.spanId);
    }
    this.tag(5, LEN);
    this.string(this.redact(span.name));
    // SpanKind is the API's plus one: the proto has UNSPECIFIED at 0.
    const kind = span.kind == null ? 0 : span.kind + 1;
    if (kind !== 0) {
      this.tag(6, VARINT);
      this.varint(kind);
    }
    this.tag(7, FIXED64);
    this.time(span.startTime);
    this.tag(8, FIXED64);
    this.time(span.endTime);
    if (span.attributes) this.attributes(span.attributes, 9, true);
    this.tag(10, VARINT);
    this.varint(span.droppedAttributesCount);
    for (const event of span.events) {
      this.tag(11, LEN);
      this.event(event);
    }
    this.tag(12, VARINT);
    this.varint(span.droppedEventsCount);
    for (const link of span.links) {
      this.tag(13, LEN);
      this.link(link);
    }
    this.tag(14, VARINT);
    this.varint(span.droppedLinksCount);
    // status (15): Status { message (2), code (3) }
    this.tag(15, LEN);
    const s = this.open(1);
    const status = span.status;
    const message = status.message === undefined ? undefined : this.redact(status.message);
    if (message) {
      this.tag(2, LEN);
      this.string(message);
    }
    this.tag(3, VARINT);
    this.varint(status.code);
    this.close(s, 1);
    // flags (16): always written (the HAS_IS_REMOTE bit is always set).
    this.tag(16, FIXED32);
    this.fixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
    this.close(at, 2);
  }

  /** Span.Event { time_unix_nano (1), name (2), attributes (3), dropped_attributes_count (4) } */
  private event(event: TimedEvent): void {
    const at = this.open(1);
    this.tag(1, FIXED64);
    this.time(event.time);
    this.tag(2, LEN);
    this.string(this.redact(event.name));
    if (event.attributes) this.attributes(event.attributes, 3, true);
    this.tag(4, VARINT);
    this.varint(event.droppedAttributesCount || 0);
    this.close(at, 1);
  }

  /** trace_id (1), span_id (2) and trace_state (3): the same fields in a Span and in a Span.Link. */
  private ids(ctx: SpanContext): void {
    this.tag(1, LEN);
    this.hex(ctx.traceId);
    this.tag(2, LEN);
    this.hex(ctx.spanId);
    const traceState = ctx.traceState?.serialize();
    if (traceState) {
      this.tag(3, LEN);
      this.string(traceState);
    }
  }

  /** Span.Link { trace_id (1), span_id (2), trace_state (3), attributes (4), dropped_attributes_count (5), flags (6) } */
  private link(link: Link): void {
    const at = this.open(1);
    const ctx = link.context;
    this.ids(ctx);
    if (link.attributes) this.attributes(link.attributes, 4, true);
    this.tag(5, VARINT);
    this.varint(link.droppedAttributesCount || 0);
    this.tag(6, FIXED32);
    this.fixed32(spanFlags(ctx.traceFlags, ctx.isRemote));
    this.close(at, 1);
  }

  /** Repeated KeyValue { key (1), value (2) } in field `field`; own keys only, as the official serializer. */
  private attributes(attributes: Record<string, AttributeValue | undefined>, field: number, redact: boolean): void {
    if (redact && this.redactor !== undefined && (Object.getPrototypeOf(attributes) !== Object.prototype || hasOwn.call(attributes, '__proto__'))) {
      // Not a plain object (the SDK's becomes one with another prototype when an app sets an
      // attribute named `__proto__` to an array): span-view.ts copies it with for-in into a
      // plain object, which takes inherited keys and cannot hold `__proto__`; so does this.
      const copy: Record<string, AttributeValue | undefined> = {};
      for (const key in attributes) copy[key] = this.redactValue(attributes[key]);
      redact = false;
      attributes = copy;
    }
    // Object.keys: the same keys in the same order as for-in with an own-property check (what the
    // official serializer does), faster on the SDK's attribute objects (dictionaries by then).
    const keys = Object.keys(attributes);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      this.tag(field, LEN);
      const kv = this.open(1);
      this.tag(1, LEN);
      this.string(key);
      this.tag(2, LEN);
      const v = this.open(1);
      this.anyValue(attributes[key], redact);
      this.close(v, 1);
      this.close(kv, 1);
    }
  }

  /** As span-view.ts redacts an attribute value: a string, or the strings of an array. */
  private redactValue(value: AttributeValue | undefined): AttributeValue | undefined {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v: unknown) => (typeof v === 'string' ? this.redact(v) : v)) as AttributeValue;
    return value;
  }

  /**
   * AnyValue { string (1), bool (2), int (3), double (4), array (5), kvlist (6), bytes (7) }.
   * `redact`: string values are redacted, and the string items of an array (one level: as
   * span-view.ts, which leaves nested arrays and key-value lists as they are).
   */
  private anyValue(value: unknown, redact: boolean): void {
    const t = typeof value;
    if (t === 'string') {
      this.tag(1, LEN);
      this.string(redact ? this.redact(value as string) : (value as string));
    } else if (t === 'boolean') {
      this.tag(2, VARINT);
      this.varint(value ? 1 : 0);
    } else if (t === 'number') {
      const n = value as number;
      if (Number.isInteger(n) && n >= MIN_64_BIT_INT && n < MAX_64_BIT_INT) {
        this.tag(3, VARINT);
        this.varint(n);
      } else {
        this.tag(4, FIXED64);
        this.ensure(8);
        this.buf.writeDoubleLE(n, this.pos);
        this.pos += 8;
      }
    } else if (value instanceof Uint8Array) {
      this.tag(7, LEN);
      this.bytes(value);
    } else if (Array.isArray(value)) {
      this.tag(5, LEN);
      const a = this.open(1);
      for (const item of value as unknown[]) {
        this.tag(1, LEN);
        const i = this.open(1);
        this.anyValue(item, redact && typeof item === 'string');
        this.close(i, 1);
      }
      this.close(a, 1);
    } else if (t === 'object' && value != null) {
      this.tag(6, LEN);
      const l = this.open(1);
      const obj = value as Record<string, unknown>;
      for (const k in obj) {
        if (!hasOwn.call(obj, k)) continue;
        this.tag(1, LEN);
        const kv = this.open(1);
        this.tag(1, LEN);
        this.string(k);
        this.tag(2, LEN);
        const v = this.open(1);
        this.anyValue(obj[k], false);
        this.close(v, 1);
        this.close(kv, 1);
      }
      this.close(l, 1);
    }
    // Any other type (undefined, a function): nothing, as the official serializer.
  }

  // --- the writer -----------------------------------------------------------------------------

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(1024, this.buf.length * 2);
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Starts a length-delimited field: reserves `reserved` bytes for its length, returns where. */
  private open(reserved: number): number {
    this.ensure(reserved);
    const at = this.pos;
    this.pos += reserved;
    return at;
  }

  /** Writes the length of the field opened at `at`, moving its content if the guess was off. */
  private close(at: number, reserved: number): void {
    const start = at + reserved;
    const length = this.pos - start;
    const size = varintSize(length);
    if (size !== reserved) {
      if (size > reserved) this.ensure(size - reserved);
      this.buf.copyWithin(at + size, start, this.pos);
      this.pos += size - reserved;
    }
    let v = length;
    let p = at;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  private tag(field: number, wireType: number): void {
    const key = (field << 3) | wireType;
    if (key < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = key;
    } else this.varint(key);
  }

  /** A varint of any number, as the official writer turns it into 64 bits (two's complement below 0). */
  private varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low & 0x7f;
  }

  private fixed32(value: number): void {
    this.ensure(4);
    this.uint32(value >>> 0);
  }

  /** 4 bytes little-endian (capacity ensured by the caller). */
  private uint32(v: number): void {
    const buf = this.buf;
    buf[this.pos++] = v & 0xff;
    buf[this.pos++] = (v >>> 8) & 0xff;
    buf[this.pos++] = (v >>> 16) & 0xff;
    buf[this.pos++] = v >>> 24;
  }

  /** An HrTime as fixed64 nanoseconds, split so that every product stays exact (as the official writer). */
  private time(hrTime: HrTime): void {
    const seconds = hrTime[0];
    const nanos = hrTime[1];
    const lower = (seconds & 0xffff) * 1e9;
    const upper = ((seconds / 0x10000) >>> 0) * 1e9;
    const low = (lower >>> 0) + (((upper & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = (Math.floor(lower / 0x100000000) + ((upper / 0x10000) >>> 0) + Math.floor(low / 0x100000000)) >>> 0;
    this.ensure(8);
    this.uint32(low >>> 0);
    this.uint32(high);
  }

  /** A hex id (trace or span id) as its bytes. */
  private hex(id: string): void {
    const n = id.length >>> 1;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[this.pos++] = (hexValue(id.charCodeAt(2 * i)) << 4) | hexValue(id.charCodeAt(2 * i + 1));
  }

  private bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A length-prefixed UTF-8 string (lone surrogates as U+FFFD, as TextEncoder). */
  private string(text: string): void {
    const n = text.length;
    if (n < 43) {
      // At most 126 bytes: the length takes one byte. ASCII is copied by hand (short strings
      // cost more in a native call than in the loop).
      this.ensure(1 + 3 * n);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c > 0x7f) break;
        buf[start + i] = c;
      }
      const length = i === n ? n : buf.write(text, start, 'utf8');
      buf[this.pos] = length;
      this.pos = start + length;
      return;
    }
    const length = Buffer.byteLength(text, 'utf8');
    this.varint(length);
    this.ensure(length);
    this.pos += this.buf.write(text, this.pos, length, 'utf8');
  }
}

function sameResourceAndScope(spans: readonly ReadableSpan[], resource: Resource, scope: InstrumentationScope): boolean {
  for (let i = 1; i < spans.length; i++) {
    const span = spans[i] as ReadableSpan;
    if (span.resource !== resource || span.instrumentationScope !== scope) return false;
  }
  return true;
}

/** Spans grouped by resource, then by instrumentation scope, both by identity, in first-seen order. */
function groupByResourceAndScope(spans: readonly ReadableSpan[]): Map<Resource, Scopes> {
  const resources = new Map<Resource, Scopes>();
  for (const span of spans) {
    let scopes = resources.get(span.resource);
    if (scopes === undefined) {
      scopes = new Map();
      resources.set(span.resource, scopes);
    }
    const list = scopes.get(span.instrumentationScope);
    if (list === undefined) scopes.set(span.instrumentationScope, [span]);
    else list.push(span);
  }
  return resources;
}
