import { OtlpReceiver } from '@llmscope/testkit';
import { LlmscopeConfigError, Llmscope } from '../../src';
import { chat, ragApp } from './exporter-app';

// Zero-code configuration: the standard variables, read when the first instance starts tracing.
process.env.OTEL_SERVICE_NAME = 'rag-service';
process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=test,team=ml';

describe('OTLP/HTTP exporter', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await new OtlpReceiver().start();
  });
  afterEach(async () => {
    await receiver.close();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  });

  test('zero code: OTEL_EXPORTER_OTLP_ENDPOINT and headers; the receiver sees the request, RAG steps and LLM span', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-api-key=secret%20value,x-team=ml';
    const app = await ragApp({ metrics: false });
    const traceId = await chat(app.url, 'How do I reset my password?');
    await app.mw.llmscope.shutdown();
    await app.close();

    const spans = receiver.trace(traceId);
    const names = spans.map((s) => s.name).sort();
    expect(names).toEqual(['POST /chat/:id', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'vector_search']);
    const server = spans.find((s) => s.name === 'POST /chat/:id');
    expect(server?.kind).toBe(2);
    expect(server?.attributes).toMatchObject({ 'http.route': '/chat/:id', 'http.response.status_code': 200, 'user.id': 'user-42', 'session.id': 'sess-7', 'llmscope.feature': 'support-chat' });
    for (const child of spans.filter((s) => s !== server)) expect(child.parentSpanId).toBe(server?.spanId);
    const llm = spans.find((s) => s.name === 'chat gpt-4o-mini');
    expect(llm?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 30, 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': '3',
    });
    expect(server?.resource).toMatchObject({ 'service.name': 'rag-service', 'deployment.environment.name': 'test', team: 'ml' });
    expect(server?.scope.name).toBe('@llmscope/core');
    expect(receiver.exportHeaders[0]).toMatchObject({ 'x-api-key': 'secret value', 'x-team': 'ml' });
  });

  test('options override the environment; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is', async () => {
    const other = await new OtlpReceiver().start();
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = other.url;
      const app = await ragApp({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl, headers: { 'x-from': 'options' } } } });
      await chat(app.url, 'q');
      await app.mw.llmscope.shutdown();
      await app.close();
      expect(receiver.spans.length).toBe(5);
      expect(receiver.exportHeaders[0]?.['x-from']).toBe('options');
      expect(other.spans).toHaveLength(0);

      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = other.tracesUrl;
      const app2 = await ragApp({ metrics: false });
      await chat(app2.url, 'q');
      await app2.mw.llmscope.shutdown();
      await app2.close();
      expect(other.spans.length).toBe(5);
    } finally {
      await other.close();
    }
  });

  test("zero code: OpenTelemetry's OTEL_BSP_* variables bound the queue (batches of 2: the trace's 5 spans arrive in 3 exports)", async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = '2';
    process.env.OTEL_BSP_SCHEDULE_DELAY = '60000';
    try {
      const app = await ragApp({ metrics: false });
      const traceId = await chat(app.url, 'q');
      await app.mw.llmscope.shutdown();
      await app.close();
      expect(receiver.trace(traceId)).toHaveLength(5);
      expect(receiver.exportHeaders).toHaveLength(3);
    } finally {
      delete process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE;
      delete process.env.OTEL_BSP_SCHEDULE_DELAY;
    }
  });

  test('`exporters.otlp: false` or OTEL_TRACES_EXPORTER=none turn it off', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    const scope = new Llmscope({ metrics: false, exporters: { otlp: false } });
    expect(scope.telemetry).toBeUndefined();
    await scope.shutdown();
    process.env.OTEL_TRACES_EXPORTER = 'none';
    const none = new Llmscope({ metrics: false });
    expect(none.telemetry).toBeUndefined();
    await none.shutdown();
    delete process.env.OTEL_TRACES_EXPORTER;
    expect(receiver.requestCount).toBe(0);
  });

  test('no exporter and no logging: nothing is added to the request path', async () => {
    const scope = new Llmscope({ metrics: false });
    expect(scope.telemetry).toBeUndefined();
    await scope.shutdown();
  });

  test('invalid configuration fails at start-up with what to change', () => {
    expect(() => new Llmscope({ exporters: { otlp: { url: 'collector:4318' } } })).toThrow(LlmscopeConfigError);
    expect(() => new Llmscope({ exporters: { otlp: { url: 'collector:4318' } } })).toThrow(/`exporters.otlp.url` must be an http\(s\) URL such as "http:\/\/localhost:4318\/v1\/traces"/);
    expect(() => new Llmscope({ exporters: { otlp: {} } })).toThrow(/needs a URL: set `exporters.otlp.url`/);
    expect(() => new Llmscope({ exporters: { otpl: {} } as never })).toThrow(/unknown option `exporters.otpl`/);
    expect(() => new Llmscope({ exporters: { queue: { maxQueueSize: 0 } } })).toThrow(/`exporters.queue.maxQueueSize` must be a positive integer/);
    expect(() => new Llmscope({ exporters: { langfuse: { publicKey: 'pk-lf-1' } } })).toThrow(/needs both keys: set `exporters.langfuse.secretKey` or LANGFUSE_SECRET_KEY/);
    expect(() => new Llmscope({ exporters: { sentry: { dsn: 'not-a-dsn' } } })).toThrow(/`exporters.sentry.dsn` must be a DSN like "https:\/\/<key>@<host>\/<project>"/);
    expect(() => new Llmscope({ logging: { level: 'loud' } })).toThrow(/`logging.level` must be one of/);
    expect(() => new Llmscope({ redact: { patterns: ['sk-'] } as never })).toThrow('option `redact.patterns[0]` must be a regular expression or a { pattern, replacement } object, got "sk-".');
    expect(() => new Llmscope({ shutdownOnSignal: ['TERM'] as never })).toThrow('option `shutdownOnSignal[0]` must be a signal name such as "SIGTERM" or "SIGINT", got "TERM".');
  });
});
