import { OtlpReceiver, find, memoryLogger, parseMetrics, type ReceivedSpan } from '@llmscope/testkit';
import { LlmscopeConfigError, Llmscope, type LlmscopeOptions } from '../../src';
import { chat, ragApp } from './exporter-app';

// OTLP over HTTP in both encodings, chosen by `exporters.otlp.protocol` or the standard variables,
// checked against the testkit receiver, which decodes protobuf with the official protos and JSON.

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const ENV = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] as const;
const NAMES = ['POST /chat/:id', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'vector_search'];

type Options = LlmscopeOptions<unknown>;

describe('OTLP protocol: http/protobuf (default) or http/json', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await new OtlpReceiver().start();
  });
  afterEach(async () => {
    await receiver.close();
    for (const name of ENV) delete process.env[name];
  });

  /** One `POST /chat/1` through an app with these options; returns its trace id once everything is flushed. */
  async function exportOneTrace(options: Options = {}): Promise<string> {
    const app = await ragApp({ metrics: false, ...options });
    try {
      const traceId = await chat(app.url, 'How do I reset my password?');
      await app.mw.llmscope.shutdown();
      return traceId;
    } finally {
      await app.close();
    }
  }

  /** The Content-Type of every export request the receiver got. */
  function contentTypes(): (string | undefined)[] {
    return receiver.exportHeaders.map((h) => h['content-type']);
  }

  /** The request's five spans arrived whole: names, parentage, attributes, under the trace id of the `x-trace-id` header. */
  function expectRagTrace(traceId: string): void {
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = receiver.trace(traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(NAMES);
    expect(receiver.spans).toHaveLength(5);
    const server = spans.find((s) => s.name === 'POST /chat/:id') as ReceivedSpan;
    expect(server.kind).toBe(2);
    expect(server.parentSpanId).toBe('');
    expect(server.attributes).toMatchObject({ 'http.route': '/chat/:id', 'http.response.status_code': 200, 'user.id': 'user-42', 'session.id': 'sess-7', 'llmscope.feature': 'support-chat' });
    for (const child of spans.filter((s) => s !== server)) expect(child.parentSpanId).toBe(server.spanId);
    const llm = spans.find((s) => s.name === 'chat gpt-4o-mini');
    // Integers stay integers and strings stay strings in both encodings.
    expect(llm?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.2, 'gen_ai.request.max_tokens': 256,
      'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 30, 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': '3',
    });
    expect(server.scope.name).toBe('@llmscope/core');
  }

  test('default: http/protobuf (application/x-protobuf), decoded with the official protos', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    const traceId = await exportOneTrace();
    expect(contentTypes()).toEqual([PROTOBUF]);
    expectRagTrace(traceId);
  });

  test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json: application/json', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    const traceId = await exportOneTrace();
    expect(contentTypes()).toEqual([JSON_TYPE]);
    expectRagTrace(traceId);
  });

  test('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over OTEL_EXPORTER_OTLP_PROTOCOL, both ways', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
    expectRagTrace(await exportOneTrace());
    expect(contentTypes()).toEqual([JSON_TYPE]);

    const other = await new OtlpReceiver().start();
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = other.url;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
      process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/protobuf';
      const traceId = await exportOneTrace();
      expect(other.exportHeaders.map((h) => h['content-type'])).toEqual([PROTOBUF]);
      expect(other.trace(traceId).map((s) => s.name).sort()).toEqual(NAMES);
    } finally {
      await other.close();
    }
  });

  test('`exporters.otlp.protocol` wins over both variables', async () => {
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
    const traceId = await exportOneTrace({ exporters: { otlp: { url: receiver.tracesUrl, protocol: 'http/protobuf' } } });
    expect(contentTypes()).toEqual([PROTOBUF]);
    expectRagTrace(traceId);

    const other = await new OtlpReceiver().start();
    try {
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
      process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/protobuf';
      const jsonTrace = await exportOneTrace({ exporters: { otlp: { url: other.tracesUrl, protocol: 'http/json' } } });
      expect(other.exportHeaders.map((h) => h['content-type'])).toEqual([JSON_TYPE]);
      expect(other.trace(jsonTrace).map((s) => s.name).sort()).toEqual(NAMES);
    } finally {
      await other.close();
    }
  });

  test.each<['http/protobuf' | 'http/json', string]>([['http/protobuf', PROTOBUF], ['http/json', JSON_TYPE]])(
    '%s keeps what the exporter did: headers from the environment and options, redaction, the error span',
    async (protocol, contentType) => {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
      process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-api-key=secret%20value,x-team=ml';
      const app = await ragApp({ metrics: false, exporters: { otlp: { protocol, headers: { 'x-from': 'options' } } } });
      try {
        const res = await fetch(`${app.url}/boom`);
        expect(res.status).toBe(500);
        const traceId = res.headers.get('x-trace-id') ?? '';
        await res.arrayBuffer();
        await app.mw.llmscope.shutdown();
        expect(receiver.exportHeaders).toHaveLength(1);
        expect(receiver.exportHeaders[0]).toMatchObject({ 'content-type': contentType, 'x-api-key': 'secret value', 'x-team': 'ml', 'x-from': 'options' });
        const [span] = receiver.trace(traceId);
        expect(span?.name).toBe('GET /boom');
        expect(span?.status.code).toBe(2);
        // Redacted at export time, whatever the encoding: the e-mail address never leaves.
        expect(span?.events.find((e) => e.name === 'exception')?.attributes).toMatchObject({ 'exception.type': 'TypeError', 'exception.message': 'kaboom for user [EMAIL]' });
        expect(JSON.stringify(receiver.spans)).not.toContain('alice@example.com');
      } finally {
        await app.close();
      }
    },
  );

  test.each<['http/protobuf' | 'http/json']>([['http/protobuf'], ['http/json']])('%s: a failing backend drops the spans, counted in llmscope_telemetry_dropped_total{exporter="otlp"}', async (protocol) => {
    receiver.mode = 'fail';
    const { logger, lines } = memoryLogger();
    const app = await ragApp({
      metrics: { defaultMetrics: false }, logging: { logger, requests: false, llmCalls: false },
      exporters: { otlp: { url: receiver.tracesUrl, protocol }, queue: { exportTimeoutMs: 2000 } },
    });
    try {
      await chat(app.url, 'q');
      await app.mw.llmscope.shutdown(3000);
      const samples = parseMetrics((await app.mw.llmscope.handleMetrics(undefined)).body);
      expect(find(samples, 'llmscope_telemetry_dropped_total', { exporter: 'otlp' })[0]?.value).toBe(5);
      // One export, not retried: a 500 is not retryable in OTLP/HTTP (429, 502, 503, 504 are).
      expect(receiver.requestCount).toBe(1);
      expect(receiver.spans).toHaveLength(0);
      expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('the otlp exporter is failing'))).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  describe('start-up errors', () => {
    const url = 'http://127.0.0.1:4318/v1/traces';
    const grpcAdvice = 'must be http/protobuf or http/json (llmscope sends OTLP over HTTP only, not gRPC: run an OpenTelemetry Collector and send it http/protobuf, or use http/json), got "grpc".';

    test('grpc, from either variable or the option: names where it came from and what to do', () => {
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
      expect(() => new Llmscope({ exporters: { otlp: { url } } })).toThrow(LlmscopeConfigError);
      expect(() => new Llmscope({ exporters: { otlp: { url } } })).toThrow(`llmscope: environment variable \`OTEL_EXPORTER_OTLP_PROTOCOL\` ${grpcAdvice}`);
      process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'grpc';
      expect(() => new Llmscope({ exporters: { otlp: { url } } })).toThrow(`llmscope: environment variable \`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL\` ${grpcAdvice}`);
      for (const name of ENV) delete process.env[name];
      expect(() => new Llmscope({ exporters: { otlp: { url, protocol: 'grpc' as never } } })).toThrow(`llmscope: option \`exporters.otlp.protocol\` ${grpcAdvice}`);
      // Zero-code configuration too: the endpoint and protocol from the environment.
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
      expect(() => new Llmscope({ metrics: false })).toThrow(`llmscope: environment variable \`OTEL_EXPORTER_OTLP_PROTOCOL\` ${grpcAdvice}`);
    });

    test('an invalid value names the variable or option, what is accepted, and a near miss', () => {
      process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/jsn';
      expect(() => new Llmscope({ exporters: { otlp: { url } } })).toThrow(
        'llmscope: environment variable `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` must be one of http/protobuf, http/json (did you mean http/json?), got "http/jsn".');
      delete process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'json';
      expect(() => new Llmscope({ exporters: { otlp: { url } } })).toThrow(
        'llmscope: environment variable `OTEL_EXPORTER_OTLP_PROTOCOL` must be one of http/protobuf, http/json, got "json".');
      delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
      expect(() => new Llmscope({ exporters: { otlp: { url, protocol: 'protobuf' as never } } })).toThrow(
        'llmscope: option `exporters.otlp.protocol` must be one of http/protobuf, http/json, got "protobuf".');
      expect(() => new Llmscope({ exporters: { otlp: { url, protocol: 1 as never } } })).toThrow(
        'llmscope: option `exporters.otlp.protocol` must be one of http/protobuf, http/json, got 1.');
    });

    test('the variables are only read for the OTLP exporter: no exporter, no error', async () => {
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
      const scope = new Llmscope({ metrics: false });
      expect(scope.telemetry).toBeUndefined();
      await scope.shutdown();
      const off = new Llmscope({ metrics: false, exporters: { otlp: false } });
      await off.shutdown();
    });

    test('the option is typed: grpc does not type-check', () => {
      // @ts-expect-error 'grpc' is not an OtlpProtocol
      const options: Options = { exporters: { otlp: { url, protocol: 'grpc' } } };
      expect(() => new Llmscope(options)).toThrow(LlmscopeConfigError);
    });
  });
});
