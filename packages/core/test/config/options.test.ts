import { Registry } from 'prom-client';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LlmscopeConfigError, DEFAULT_HTTP_BUCKETS } from '../../src';
import { resolveOptions } from '../../src/config/options';

describe('resolveOptions', () => {
  test('defaults', () => {
    const o = resolveOptions(undefined, {});
    expect(o).toMatchObject({
      userHeader: 'x-user-id', sessionHeader: 'x-session-id', traceIdHeader: 'x-trace-id', unmatchedRoute: 'unmatched',
      maxValueLength: 256, maxTags: 32, maxRoutes: 1000,
      metrics: { path: '/metrics', bearerToken: undefined, defaultMetrics: true, httpDurationBuckets: DEFAULT_HTTP_BUCKETS },
      tracing: { spanProcessors: [], printTraces: true },
    });
  });

  test('trace printing is off in production and test, and when an exporter is configured', () => {
    expect(resolveOptions({}, { NODE_ENV: 'production' }).tracing?.printTraces).toBe(false);
    expect(resolveOptions({}, { NODE_ENV: 'test' }).tracing?.printTraces).toBe(false);
    const processor = new SimpleSpanProcessor(new InMemorySpanExporter());
    expect(resolveOptions({ tracing: { spanProcessors: [processor] } }, {}).tracing?.printTraces).toBe(false);
    expect(resolveOptions({ tracing: { printTraces: true } }, { NODE_ENV: 'production' }).tracing?.printTraces).toBe(true);
    // An exporter, from options or the environment, turns the default off too.
    expect(resolveOptions({ exporters: { otlp: { url: 'http://127.0.0.1:4318/v1/traces' } } }, {}).tracing?.printTraces).toBe(false);
    expect(resolveOptions({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing?.printTraces).toBe(false);
    expect(resolveOptions({ tracing: { printTraces: true } }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing?.printTraces).toBe(true);
  });

  test('OTEL_SDK_DISABLED turns tracing off; false options turn parts off', () => {
    expect(resolveOptions({}, { OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(resolveOptions({ tracing: false }, {}).tracing).toBeUndefined();
    expect(resolveOptions({ metrics: false }, {}).metrics).toBeUndefined();
    expect(resolveOptions({ metrics: { path: false } }, {}).metrics?.path).toBeUndefined();
    expect(resolveOptions({ traceIdHeader: false }, {}).traceIdHeader).toBeUndefined();
  });

  test('header names are lower-cased, registries accepted', () => {
    const registry = new Registry();
    const o = resolveOptions({ userHeader: 'X-Tenant-User', metrics: { registry } }, {});
    expect(o.userHeader).toBe('x-tenant-user');
    expect(o.metrics?.registry).toBe(registry);
  });

  test.each([
    [{ metrics: { path: 'metrics' } }, /`metrics\.path` must be a path starting with "\/"/],
    [{ metrics: { registry: {} } }, /`metrics\.registry` must be a prom-client Registry/],
    [{ metrics: { httpDurationBuckets: [1, 0.5] } }, /increasing order/],
    [{ metrics: { defaultMetrics: 'yes' } }, /`metrics\.defaultMetrics` must be true or false, got "yes"\./],
    [{ metrics: 'on' }, /`metrics` must be an object or false/],
    [{ tracing: { spanProcessors: [{}] } }, /SpanProcessor/],
    [{ serviceName: 42 }, /`serviceName` must be a non-empty string, got 42\./],
    [{ identify: 'x-user' }, /`identify` must be a function/],
    [{ userHeader: 'user id' }, /valid HTTP header name/],
    [{ maxTags: 1.5 }, /`maxTags` must be a positive integer/],
    [{ metric: {} }, /unknown option `metric`\. Did you mean `metrics`\?/],
    [{ metrics: { bearertoken: 'x' } }, /Did you mean `metrics\.bearerToken`\?/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveOptions(options as never, {})).toThrow(LlmscopeConfigError);
    expect(() => resolveOptions(options as never, {})).toThrow(message);
  });

  /** The message `resolveOptions` throws for these options and this environment. */
  function message(options: unknown, env: NodeJS.ProcessEnv = {}): string {
    try {
      resolveOptions(options as never, env);
    } catch (error) {
      expect(error).toBeInstanceOf(LlmscopeConfigError);
      return (error as Error).message;
    }
    throw new Error('resolveOptions did not throw');
  }

  test.each<[string, unknown, string]>([
    ['top level', { metrcs: {} }, 'llmscope: unknown option `metrcs`. Did you mean `metrics`? Known options: serviceName, identify, userHeader, sessionHeader, traceIdHeader, unmatchedRoute, maxValueLength, maxTags, maxRoutes, metrics, tracing, llm, exporters, logging, redact, shutdownOnSignal, shutdownTimeoutMs, sampling, evaluations, prompts, budgets.'],
    ['nested in sampling.tail', { sampling: { tail: { maxTrace: 5 } } }, 'llmscope: unknown option `sampling.tail.maxTrace`. Did you mean `sampling.tail.maxTraces`? Known options: baseRate, keepErrors, slowMs, routeLatency, priority, maxTraces, maxSpansPerTrace, maxAgeMs.'],
    ['a swap of two letters', { llm: { captureContnet: true } }, 'llmscope: unknown option `llm.captureContnet`. Did you mean `llm.captureContent`? Known options: prices, captureContent, maxContentLength, maxModels, attribution, timeToFirstChunkBuckets, streamIdleTimeoutMs.'],
    ['in exporters', { exporters: { otpl: {} } }, 'llmscope: unknown option `exporters.otpl`. Did you mean `exporters.otlp`? Known options: otlp, langfuse, sentry, queue, failureLogIntervalMs.'],
    ['in logging', { logging: { levle: 'info' } }, 'llmscope: unknown option `logging.levle`. Did you mean `logging.level`? Known options: logger, level, requests, llmCalls, captureContent, maxContentLength.'],
    ['in a price', { llm: { prices: { m: { inputPerMTok: 1, outputPerMTok: 1, cachedPerMTok: 1 } } } }, 'llmscope: unknown option `llm.prices["m"].cachedPerMTok`. Did you mean `llm.prices["m"].cacheReadPerMTok`? Known options: inputPerMTok, outputPerMTok, cacheReadPerMTok, cacheWritePerMTok, reasoningPerMTok, contextWindow.'],
    ['nothing close', { colour: 'red' }, 'llmscope: unknown option `colour`. Known options: serviceName, identify, userHeader, sessionHeader, traceIdHeader, unmatchedRoute, maxValueLength, maxTags, maxRoutes, metrics, tracing, llm, exporters, logging, redact, shutdownOnSignal, shutdownTimeoutMs, sampling, evaluations, prompts, budgets.'],
  ])('an unknown key %s is rejected with the closest known one', (_, options, expected) => {
    expect(message(options)).toBe(expected);
  });

  test.each<[unknown, string]>([
    [42, 'llmscope: options must be an object, got 42.'],
    [{ sampling: { tail: { maxTraces: -3 } } }, 'llmscope: option `sampling.tail.maxTraces` must be a positive integer, got -3.'],
    [{ maxTags: 0 }, 'llmscope: option `maxTags` must be a positive integer, got 0.'],
    [{ shutdownTimeoutMs: '5s' }, 'llmscope: option `shutdownTimeoutMs` must be a positive integer, got "5s".'],
    [{ metrics: 'on' }, 'llmscope: option `metrics` must be an object or false, got "on".'],
    [{ metrics: { path: 'metrics' } }, 'llmscope: option `metrics.path` must be a path starting with "/", such as "/metrics", or false, got "metrics".'],
    [{ metrics: { bearerToken: '' } }, 'llmscope: option `metrics.bearerToken` must be a non-empty string (remove it to leave the endpoint open), got an empty string.'],
    [{ metrics: { httpDurationBuckets: [1, 0.5] } }, 'llmscope: option `metrics.httpDurationBuckets` must be a non-empty array of positive numbers in increasing order (seconds), got [1, 0.5].'],
    [{ metrics: { registry: {} } }, 'llmscope: option `metrics.registry` must be a prom-client Registry (new Registry() or the default `register`), got an object.'],
    [{ tracing: { spanProcessors: [{}] } }, 'llmscope: option `tracing.spanProcessors[0]` must be an OpenTelemetry SpanProcessor (e.g. new BatchSpanProcessor(exporter)), got an object.'],
    [{ identify: 'x-user' }, 'llmscope: option `identify` must be a function (request) => ({ userId, sessionId }), got "x-user".'],
    [{ userHeader: 'user id' }, 'llmscope: option `userHeader` must be a valid HTTP header name such as "x-user-id", got "user id".'],
    [{ unmatchedRoute: '' }, 'llmscope: option `unmatchedRoute` must be a non-empty string, got an empty string.'],
    [{ redact: { replacement: 0 } }, 'llmscope: option `redact.replacement` must be a string such as "[REDACTED]", got 0.'],
    [{ redact: { secrets: 'yes' } }, 'llmscope: option `redact.secrets` must be true or false, got "yes".'],
    [{ shutdownOnSignal: 'SIGTERM' }, 'llmscope: option `shutdownOnSignal` must be true, false or an array of signal names such as ["SIGTERM", "SIGINT"], got "SIGTERM".'],
    [{ sampling: { tail: { baseRate: 5 } } }, 'llmscope: option `sampling.tail.baseRate` must be a number between 0 and 1, such as 0.05 for 5%, got 5.'],
    [{ sampling: { tail: { slowMs: -1 } } }, 'llmscope: option `sampling.tail.slowMs` must be a positive number of milliseconds, got -1.'],
    [{ sampling: { tail: { routeLatency: { percentile: 0.2 } } } }, 'llmscope: option `sampling.tail.routeLatency.percentile` must be a number between 0.5 and 0.999, such as 0.95, got 0.2.'],
    [{ sampling: { tail: { routeLatency: { minSamples: 500 } } } }, 'llmscope: option `sampling.tail.routeLatency.minSamples` must be at most `sampling.tail.routeLatency.window` (200), got 500.'],
    [{ sampling: { tail: { priority: { users: 'alice' } } } }, 'llmscope: option `sampling.tail.priority.users` must be an array or Set of user id strings, got "alice".'],
    [{ sampling: { tail: { priority: { tags: { tier: [] } } } } }, 'llmscope: option `sampling.tail.priority.tags["tier"]` must be a string, number or boolean, or a non-empty array of them, got an empty array.'],
    [{ sampling: { tail: { priority: { when: true } } } }, 'llmscope: option `sampling.tail.priority.when` must be a function (trace) => boolean, got true.'],
    [{ llm: { prices: { m: { inputPerMTok: -1, outputPerMTok: 1 } } } }, 'llmscope: option `llm.prices["m"].inputPerMTok` must be a price in USD per million tokens, a finite number >= 0 such as 0.5, got -1.'],
    [{ llm: { prices: { m: { inputPerMTok: 1 } } } }, 'llmscope: option `llm.prices["m"].outputPerMTok` is required: a price in USD per million tokens, a finite number >= 0 such as 0.5.'],
    [{ llm: { attribution: { maxUsers: 0 } } }, 'llmscope: option `llm.attribution.maxUsers` must be a positive integer, got 0.'],
    [{ llm: { timeToFirstChunkBuckets: [] } }, 'llmscope: option `llm.timeToFirstChunkBuckets` must be a non-empty array of positive numbers in increasing order (seconds), got an empty array.'],
    [{ exporters: { queue: { maxQueueSize: 10, maxBatchSize: 20 } } }, 'llmscope: option `exporters.queue.maxBatchSize` must be at most `exporters.queue.maxQueueSize` (10), got 20.'],
    [{ exporters: { otlp: { url: 'collector:4318' } } }, 'llmscope: option `exporters.otlp.url` must be an http(s) URL such as "http://localhost:4318/v1/traces", got "collector:4318".'],
    [{ exporters: { otlp: { url: 'http://c:4318/v1/traces', headers: { key: 1 } } } }, 'llmscope: option `exporters.otlp.headers["key"]` must be a string, got 1.'],
    [{ exporters: { langfuse: { publicKey: 'pk', secretKey: 'sk', shouldExportSpan: 'all' } } }, 'llmscope: option `exporters.langfuse.shouldExportSpan` must be a function (span) => boolean, got "all".'],
    [{ exporters: { sentry: { dsn: 'https://sentry.example/1' } } }, 'llmscope: option `exporters.sentry.dsn` must be a DSN like "https://<key>@<host>/<project>" (copy it from Sentry → Project settings → Client keys), got a string of 24 characters.'],
    [{ logging: { logger: console.log } }, 'llmscope: option `logging.logger` must be a pino logger (or an object with info/warn/error methods taking (object, message)), got a function.'],
    [{ logging: { logger: console, level: 'infoo' } }, 'llmscope: option `logging.level` must be one of fatal, error, warn, info, debug, trace, silent (did you mean info?), got "infoo".'],
    [{ logging: { logger: console, maxContentLength: 1.5 } }, 'llmscope: option `logging.maxContentLength` must be a positive integer, got 1.5.'],
  ])('%j is rejected with one message shape', (options, expected) => {
    expect(message(options)).toBe(expected);
  });

  test.each<[NodeJS.ProcessEnv, unknown, string]>([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, {}, 'llmscope: environment variable `OTEL_EXPORTER_OTLP_ENDPOINT` must be an http(s) URL such as "http://localhost:4318", got "collector:4318".'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/v1/traces' }, {}, 'llmscope: environment variable `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` must be an http(s) URL such as "http://localhost:4318/v1/traces", got "ftp://c/v1/traces".'],
    [{ LANGFUSE_PUBLIC_KEY: 'pk', LANGFUSE_SECRET_KEY: 'sk', LANGFUSE_BASE_URL: 'langfuse.local' }, {}, 'llmscope: environment variable `LANGFUSE_BASE_URL` must be an http(s) URL such as "https://cloud.langfuse.com", got "langfuse.local".'],
    [{ SENTRY_DSN: 'secret-dsn' }, {}, 'llmscope: environment variable `SENTRY_DSN` must be a DSN like "https://<key>@<host>/<project>" (copy it from Sentry → Project settings → Client keys), got a string of 10 characters.'],
    [{ LOG_LEVEL: 'verbose' }, { logging: { logger: console } }, 'llmscope: environment variable `LOG_LEVEL` must be one of fatal, error, warn, info, debug, trace, silent, got "verbose".'],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: 'lots' }, {}, 'llmscope: environment variable `OTEL_BSP_MAX_QUEUE_SIZE` must be a positive integer, got "lots".'],
    [{ OTEL_BSP_SCHEDULE_DELAY: '0' }, {}, 'llmscope: environment variable `OTEL_BSP_SCHEDULE_DELAY` must be a positive integer, got 0.'],
    [{ OTEL_BSP_EXPORT_TIMEOUT: '1.5' }, {}, 'llmscope: environment variable `OTEL_BSP_EXPORT_TIMEOUT` must be a positive integer, got "1.5".'],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' }, {}, 'llmscope: environment variable `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` must be at most `OTEL_BSP_MAX_QUEUE_SIZE` (100), got 200.'],
    [{ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' }, { exporters: { queue: { maxQueueSize: 100 } } }, 'llmscope: environment variable `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` must be at most `exporters.queue.maxQueueSize` (100), got 200.'],
    [{ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096' }, {}, 'llmscope: environment variable `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` must be at most the queue size (2048), got 4096.'],
  ])('environment %j is reported by variable name', (env, options, expected) => {
    expect(message(options, env)).toBe(expected);
  });

  test('an option wins over its environment variable, and is named when wrong', () => {
    expect(message({ exporters: { otlp: { url: 'nope' } } }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toMatch(/^llmscope: option `exporters\.otlp\.url` must be/);
    expect(resolveOptions({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).exporters.otlp?.url).toBe('http://127.0.0.1:4318/v1/traces');
    expect(resolveOptions({}, { LOG_LEVEL: 'debug' }).logging).toBeUndefined();
  });

  test("the queue bounds: options, else OpenTelemetry's OTEL_BSP_* variables, else the defaults; a batch size nobody set follows a smaller queue", () => {
    const env = { OTEL_BSP_MAX_QUEUE_SIZE: ' 8192 ', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048', OTEL_BSP_SCHEDULE_DELAY: '5000', OTEL_BSP_EXPORT_TIMEOUT: '30000' };
    expect(resolveOptions({}, env).exporters.queue).toEqual({ maxQueueSize: 8192, maxBatchSize: 2048, scheduledDelayMs: 5000, exportTimeoutMs: 30000 });
    expect(resolveOptions({ exporters: { queue: { maxBatchSize: 100, scheduledDelayMs: 200 } } }, env).exporters.queue).toEqual({ maxQueueSize: 8192, maxBatchSize: 100, scheduledDelayMs: 200, exportTimeoutMs: 30000 });
    expect(resolveOptions({}, { OTEL_BSP_MAX_QUEUE_SIZE: '', OTEL_BSP_SCHEDULE_DELAY: '  ' }).exporters.queue).toEqual({ maxQueueSize: 2048, maxBatchSize: 512, scheduledDelayMs: 1000, exportTimeoutMs: 10000 });
    // Only the queue set (as option or variable): the default batch of 512 shrinks to it instead of failing start-up.
    expect(resolveOptions({ exporters: { queue: { maxQueueSize: 5 } } }, {}).exporters.queue).toMatchObject({ maxQueueSize: 5, maxBatchSize: 5 });
    expect(resolveOptions({}, { OTEL_BSP_MAX_QUEUE_SIZE: '100' }).exporters.queue).toMatchObject({ maxQueueSize: 100, maxBatchSize: 100 });
    // An option wins over an invalid variable: it is never read.
    expect(resolveOptions({ exporters: { queue: { maxQueueSize: 10 } } }, { OTEL_BSP_MAX_QUEUE_SIZE: 'lots' }).exporters.queue.maxQueueSize).toBe(10);
  });

  test('defaults and accepted inputs are unchanged', () => {
    const o = resolveOptions({
      redact: { patterns: [/cust-\d+/, { pattern: /x/, replacement: 'y' }] },
      shutdownOnSignal: ['SIGINT'],
      sampling: { tail: { routeLatency: true, priority: { users: new Set(['alice']), tags: { tier: ['paid', 1] } } } },
      llm: { prices: { m: { inputPerMTok: 1, outputPerMTok: 2 } }, attribution: false },
      exporters: { queue: { maxQueueSize: 10, maxBatchSize: 10 } },
    }, { NODE_ENV: 'production' });
    expect(o.shutdownOnSignal).toEqual(['SIGINT']);
    expect(o.sampling.tail).toMatchObject({ baseRate: 0.05, keepErrors: true, slowMs: undefined, routeLatency: { percentile: 0.95, window: 200, minSamples: 50 }, maxTraces: 10000 });
    expect(o.sampling.tail?.priorityUsers).toEqual(new Set(['alice']));
    expect(o.sampling.tail?.priorityTags).toEqual(new Map([['llmscope.tag.tier', ['paid', 1]]]));
    expect(o.llm.prices.get('m')).toEqual({ inputPerMTok: 1, outputPerMTok: 2, cacheReadPerMTok: 1, cacheWritePerMTok: 1, contextWindow: undefined });
    expect(o.llm.attribution).toBeUndefined();
    expect(o.llm).toMatchObject({ captureContent: false, maxContentLength: 2000, maxModels: 200, streamIdleTimeoutMs: 600000 });
    expect(o.exporters).toMatchObject({ queue: { maxQueueSize: 10, maxBatchSize: 10 }, failureLogIntervalMs: 60000, otlp: undefined, langfuse: undefined, sentry: undefined });
    expect(resolveOptions({ shutdownOnSignal: true }, {}).shutdownOnSignal).toEqual(['SIGTERM', 'SIGINT']);
    expect(resolveOptions({ redact: false }, {}).redact).toBe(false);
    expect(resolveOptions({}, {}).redact).toEqual({});
    expect(resolveOptions({ sampling: false }, {}).sampling.tail).toBeUndefined();
    expect(resolveOptions({ exporters: { sentry: {} } }, {}).exporters.sentry).toEqual({ dsn: undefined, environment: undefined, release: undefined, maxOutputLength: 4000 });
  });
});
