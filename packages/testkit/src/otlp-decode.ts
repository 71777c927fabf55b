import * as protobuf from 'protobufjs';
import { OTLP_TRACE_DESCRIPTOR } from './otlp-descriptor';

/** An attribute value as decoded from OTLP `AnyValue`. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue };

/** One span as received, with ids in lower-case hex and attributes flattened to a record. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, OtlpValue>;
  events: { name: string; attributes: Record<string, OtlpValue> }[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, OtlpValue>;
  scope: { name: string; version: string };
}

// The official OpenTelemetry protocol definitions (opentelemetry-proto, vendored in ../protos), as
// a JSON descriptor generated from them (scripts/otlp-descriptor.mjs): no file path to resolve, so
// test files compiled as ES modules (no `__dirname`) decode as CommonJS ones do.
let requestType: protobuf.Type | undefined;

function exportRequestType(): protobuf.Type {
  // protobufjs' INamespace types require fields (`comment`) its own toJSON() leaves out.
  requestType ??= protobuf.Root.fromJSON(OTLP_TRACE_DESCRIPTOR as unknown as protobuf.INamespace).lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  return requestType;
}

interface RawKeyValue { key: string; value?: RawAnyValue }
interface RawAnyValue {
  stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number;
  arrayValue?: { values?: RawAnyValue[] }; kvlistValue?: { values?: RawKeyValue[] }; bytesValue?: string;
}
interface RawSpan {
  traceId?: string; spanId?: string; parentSpanId?: string; name?: string; kind?: number;
  startTimeUnixNano?: string | number; endTimeUnixNano?: string | number;
  attributes?: RawKeyValue[]; events?: { name?: string; attributes?: RawKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface RawRequest {
  resourceSpans?: { resource?: { attributes?: RawKeyValue[] }; scopeSpans?: { scope?: { name?: string; version?: string }; spans?: RawSpan[] }[] }[];
}

function value(v: RawAnyValue | undefined): OtlpValue {
  if (v === undefined) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  if (v.kvlistValue !== undefined) return attributes(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function attributes(kvs: RawKeyValue[] | undefined): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = value(kv.value);
  return out;
}

function flatten(raw: RawRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of raw.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId ?? '', spanId: s.spanId ?? '', parentSpanId: s.parentSpanId ?? '',
          name: s.name ?? '', kind: s.kind ?? 0,
          startTimeUnixNano: String(s.startTimeUnixNano ?? '0'), endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name ?? '', attributes: attributes(e.attributes) })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource, scope,
        });
      }
    }
  }
  return spans;
}

const ID_FIELDS = ['traceId', 'spanId', 'parentSpanId'] as const;

/** Decodes an OTLP/HTTP protobuf `ExportTraceServiceRequest` with the official definitions. */
export function decodeOtlpProtobuf(body: Uint8Array): ReceivedSpan[] {
  const type = exportRequestType();
  const message = type.decode(body);
  // bytes as hex (how OTLP/JSON and every UI show ids), 64-bit ints as strings, enums as numbers.
  const raw = type.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false }) as RawRequest;
  for (const rs of raw.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
    for (const f of ID_FIELDS) if (s[f] !== undefined) s[f] = Buffer.from(s[f] as string, 'base64').toString('hex');
  }
  return flatten(raw);
}

/**
 * Decodes an OTLP/HTTP JSON request. OTLP/JSON differs from protobuf's canonical JSON only in
 * that ids are hex, so they are turned into bytes and the message is converted with the
 * official definitions (`fromObject`, which accepts 64-bit integers as strings the way proto3
 * JSON allows): a structure that does not fit the schema is an error.
 */
export function decodeOtlpJson(text: string): ReceivedSpan[] {
  const type = exportRequestType();
  const parsed = JSON.parse(text) as RawRequest;
  for (const rs of parsed.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
    for (const f of ID_FIELDS) if (typeof s[f] === 'string') s[f] = Buffer.from(s[f] as string, 'hex').toString('base64');
  }
  let message: protobuf.Message;
  try {
    message = type.fromObject(parsed as Record<string, unknown>);
  } catch (error) {
    throw new Error(`invalid OTLP/JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return decodeOtlpProtobuf(type.encode(message).finish());
}

/** Decodes an OTLP/HTTP traces body by its content type (`application/x-protobuf` or `application/json`). */
export function decodeOtlp(body: Buffer, contentType: string | undefined): ReceivedSpan[] {
  if (contentType !== undefined && contentType.includes('json')) return decodeOtlpJson(body.toString('utf8'));
  return decodeOtlpProtobuf(body);
}
