import { SpanKind, SpanStatusCode, type Attributes, type AttributeValue, type HrTime, type Link, type SpanContext } from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { Llmscope } from '../../src';
import { Redactor } from '../../src/logging/redact';
import { OtlpSpanEncoder } from '../../src/exporters/otlp-encode';
import { redactSpan } from '../../src/exporters/span-view';

// The direct OTLP/protobuf encoder (exporters/otlp-encode.ts) against the official path it
// replaces: `ProtobufTraceSerializer` of @opentelemetry/otlp-transformer on the redacted views of
// exporters/span-view.ts. Same bytes, on generated spans of every shape the SDK can hand over.

let requestType: protobuf.Type | undefined;

/** ExportTraceServiceRequest of the official protos (vendored in the testkit). */
function exportRequest(): protobuf.Type {
  if (requestType !== undefined) return requestType;
  const protos = join(__dirname, '..', '..', '..', 'testkit', 'protos');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protos, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
  requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  return requestType;
}

function decode(body: Uint8Array): object {
  const type = exportRequest();
  return type.toObject(type.decode(body), { longs: String, enums: Number, bytes: String, defaults: false });
}

/** Encodes with both and expects the same bytes (when they differ, the decoded requests first: a readable difference). */
function expectSameBody(spans: ReadableSpan[], redactor: Redactor, encoder = new OtlpSpanEncoder(redactor)): void {
  const ours = Buffer.from(encoder.encode(spans));
  const official = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans.map((s) => redactSpan(s, redactor))) ?? new Uint8Array());
  if (!ours.equals(official)) expect(decode(ours)).toEqual(decode(official));
  expect(ours.equals(official)).toBe(true);
}

// --- generated spans ----------------------------------------------------------------------

const SECRETS = ['sk-proj-abcdefghijklmnop1234', 'alice@example.com', 'Bearer abcdefghijklmnop', 'https://u:hunter2@db.local/x?api_key=zzz', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'];

const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  codeUnits, // lone surrogates, written as U+FFFD
  fc.constantFrom(...SECRETS),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...SECRETS), fc.string({ maxLength: 20 })).map(([a, s, b]) => `${a} ${s} ${b}`),
  fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.integer({ min: 10, max: 1500 })).map(([s, n]) => s.repeat(n)), // long: multi-byte lengths
);

const numbers: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.double(), // NaN, ±Infinity, -0, subnormals
  fc.constantFrom(2 ** 53, 2 ** 62, -(2 ** 63), 2 ** 63, -(2 ** 64), 1e300, 0.5, -1, 0xffffffff, 0x100000000),
);

const value: fc.Arbitrary<AttributeValue | undefined> = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 2, arbitrary: numbers },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(numbers, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.boolean(), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(text, fc.constant(null), fc.constant(undefined)), { maxLength: 4 }) as fc.Arbitrary<AttributeValue> },
  { weight: 1, arbitrary: fc.constant([] as string[]) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const attributes: fc.Arbitrary<Attributes> = fc.dictionary(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('http.route', 'gen_ai.request.model', 'user.id')), value, { maxKeys: 8 });

const hex = (bytes: number): fc.Arbitrary<string> => fc.oneof(
  { weight: 9, arbitrary: fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex')) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex').toUpperCase()) },
);

const hrTime: fc.Arbitrary<HrTime> = fc.tuple(fc.oneof(fc.integer({ min: 0, max: 2 ** 33 }), fc.constant(1_764_500_000)), fc.integer({ min: 0, max: 999_999_999 }));

const traceState: fc.Arbitrary<TraceState | undefined> = fc.oneof(fc.constant(undefined), fc.constantFrom('', 'vendor=abc', 'a=1,b=2,congo=t61rcWkgMzE').map((s) => new TraceState(s)));

const context: fc.Arbitrary<SpanContext> = fc.record({
  traceId: hex(16), spanId: hex(8), traceFlags: fc.constantFrom(0, 1, 3, 0xff), isRemote: fc.option(fc.boolean(), { nil: undefined }), traceState,
}, { requiredKeys: ['traceId', 'spanId', 'traceFlags'] });

const event: fc.Arbitrary<TimedEvent> = fc.record({ name: text, time: hrTime, attributes, droppedAttributesCount: fc.nat(5) }, { requiredKeys: ['name', 'time'] });

const link: fc.Arbitrary<Link> = fc.record({ context, attributes, droppedAttributesCount: fc.nat(5) }, { requiredKeys: ['context'] });

const status = fc.record({ code: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR), message: fc.oneof(text, fc.constant('')) }, { requiredKeys: ['code'] });

const scopes: InstrumentationScope[] = [
  { name: '@llmscope/core', version: '0.1.0' },
  { name: 'app', version: '', schemaUrl: 'https://opentelemetry.io/schemas/1.28.0' },
  { name: 'ünïcode scope' },
];

const resources: Resource[] = [
  resourceFromAttributes({ 'service.name': 'chat-api', 'service.version': '1.2.3', 'deployment.environment.name': 'production', 'process.pid': 4242 }),
  resourceFromAttributes({ 'service.name': 'worker ✓', tags: ['a', 'b'], ratio: 0.25 }, { schemaUrl: 'https://opentelemetry.io/schemas/1.28.0' }),
  resourceFromAttributes({}),
];

const span: fc.Arbitrary<ReadableSpan> = fc.record({
  context, parent: fc.option(context, { nil: undefined }), name: text, kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER),
  startTime: hrTime, endTime: hrTime, attributes, events: fc.array(event, { maxLength: 3 }), links: fc.array(link, { maxLength: 2 }), status,
  droppedAttributesCount: fc.nat(3), droppedEventsCount: fc.nat(3), droppedLinksCount: fc.nat(3),
  resource: fc.nat(resources.length - 1), scope: fc.nat(scopes.length - 1),
}).map(({ context: ctx, parent, resource, scope, ...s }): ReadableSpan => ({
  ...s, parentSpanContext: parent, duration: [0, 0], ended: true,
  resource: resources[resource] as Resource, instrumentationScope: scopes[scope] as InstrumentationScope,
  spanContext: () => ctx,
}));

const redactors = {
  default: new Redactor(),
  off: new Redactor(false),
  // A pattern of the app's that matches the empty string: an empty status message becomes text.
  custom: new Redactor({ secrets: false, patterns: [/o*/g, { pattern: /\d{3,}/, replacement: '#' }] }),
};

describe('OTLP/protobuf encoder: the bytes of the official serializer on redacted spans', () => {
  it.each(Object.keys(redactors) as (keyof typeof redactors)[])('generated batches, redaction %s', (name) => {
    const redactor = redactors[name];
    const encoder = new OtlpSpanEncoder(redactor); // one encoder for every batch, as the exporter
    fc.assert(fc.property(fc.array(span, { maxLength: 12 }), (spans) => expectSameBody(spans, redactor, encoder)), { numRuns: 200 });
  });

  it('large batches: lengths of several bytes at every level, a buffer that grows', () => {
    const redactor = redactors.default;
    const encoder = new OtlpSpanEncoder(redactor);
    fc.assert(fc.property(fc.array(span, { minLength: 100, maxLength: 200 }), (spans) => expectSameBody(spans, redactor, encoder)), { numRuns: 5 });
    // A batch far larger than the one before: the buffer sized from the last batch grows.
    fc.assert(fc.property(fc.array(span, { minLength: 1, maxLength: 2 }), fc.array(span, { minLength: 300, maxLength: 400 }), (small, large) => {
      expectSameBody(small, redactor, encoder);
      expectSameBody(large, redactor, encoder);
    }), { numRuns: 2 });
  });

  it('packed in chunks of any size (what the export queue holds), then put together: the same bytes', () => {
    const redactor = redactors.default;
    const encoder = new OtlpSpanEncoder(redactor);
    // Spans of 3 resources and 4 scopes interleaved: a group split across chunks, and groups that
    // first appear in a later chunk, must come out grouped as the whole batch would be.
    fc.assert(fc.property(fc.array(span, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 30 }), (spans, size) => {
      const chunks = [];
      for (let i = 0; i < spans.length; i += size) chunks.push(encoder.pack(spans.slice(i, i + size)));
      expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(spans.length);
      const packed = Buffer.from(encoder.body(chunks));
      const official = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans.map((s) => redactSpan(s, redactor))) ?? new Uint8Array());
      if (!packed.equals(official)) expect(decode(packed)).toEqual(decode(official));
      expect(packed.equals(official)).toBe(true);
    }), { numRuns: 60 });
  });

  it('attributes named __proto__: as the redacted views (an SDK span given one as an array inherits from it)', () => {
    const withProto = fc.sample(span, { numRuns: 3, seed: 7 });
    const sdkLike: Attributes = { 'http.route': '/chat/:id', 'user.id': 'bob@example.com' };
    (sdkLike as Record<string, unknown>)['__proto__'] = ['sk-proj-abcdefghijklmnop1234', 'x']; // what `span.setAttribute('__proto__', [...])` does
    const nullProto = Object.assign(Object.create(null) as Attributes, { 'gen_ai.request.model': 'gpt-4o-mini' });
    Object.defineProperty(nullProto, '__proto__', { value: ['a'], enumerable: true });
    const spans = withProto.map((s, i) => ({ ...s, spanContext: s.spanContext, attributes: i === 0 ? sdkLike : nullProto, events: [{ name: 'e', time: [1, 2] as HrTime, attributes: nullProto }] }));
    for (const redactor of Object.values(redactors)) expectSameBody(spans, redactor);
  });

  it('an empty batch: an empty request, as the official serializer', () => {
    expectSameBody([], redactors.default);
  });

  it('the spans llmscope records (request, RAG steps, an LLM call, an error with its exception event)', async () => {
    const spans: ReadableSpan[] = [];
    const collect: SpanProcessor = { onStart() {}, onEnd: (s) => void spans.push(s), forceFlush: async () => {}, shutdown: async () => {} };
    const scope = new Llmscope({ metrics: { defaultMetrics: false }, exporters: { otlp: false }, sampling: { tail: false }, tracing: { spanProcessors: [collect] }, redact: { appSpanProcessors: false } });
    for (let i = 0; i < 20; i++) {
      const ctx = scope.startRequest('POST', `/chat/${i}?api_key=sk-proj-abcdefghijklmnop${i}`, { 'x-user-id': `user-${i}@example.com`, 'user-agent': 'bench/1.0' }, undefined);
      await scope.run(ctx, async () => {
        await scope.step('vector_search', async () => ['doc-1'], { 'llmscope.rag.top_k': 3 });
        scope.traceLLM({ model: 'gpt-4o-mini', provider: 'openai', temperature: 0.2, maxTokens: 256 }, () => ({ id: 'c1', model: 'gpt-4o-mini', usage: { prompt_tokens: 12, completion_tokens: 5 } }));
        if (i % 3 === 0) await scope.step('fails', async () => { throw new Error(`token sk-proj-abcdefghijklmnopqrst for bob@example.com`); }).catch(() => undefined);
      });
      scope.setRoute(ctx, '/chat/:id');
      scope.finishRequest(ctx, i % 3 === 0 ? 500 : 200);
    }
    await scope.shutdown(5000);
    expect(spans.length).toBeGreaterThanOrEqual(60);
    expect(spans.some((s) => s.events.length > 0)).toBe(true);
    expectSameBody(spans, redactors.default);
    expectSameBody(spans, redactors.off);
    // Redacted: nothing of the secrets or addresses is in the body.
    const encoded = new OtlpSpanEncoder(redactors.default).encode(spans);
    const decoded = decode(encoded) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    expect(decoded.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))).toHaveLength(spans.length);
    const body = Buffer.from(encoded).toString('latin1');
    for (const secret of ['sk-proj-abcdefghijklmnop', 'example.com']) expect(body).not.toContain(secret);
  });
});
