import { Registry } from 'prom-client';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LlmscopeConfigError, resolveOptions, DEFAULT_HTTP_BUCKETS } from '../../src';

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
    [{ metrics: { defaultMetrics: 'yes' } }, /`metrics\.defaultMetrics` must be true or false \(got "yes"\)/],
    [{ metrics: 'on' }, /`metrics` must be an object or false/],
    [{ tracing: { spanProcessors: [{}] } }, /SpanProcessor/],
    [{ serviceName: 42 }, /`serviceName` must be a non-empty string \(got 42\)/],
    [{ identify: 'x-user' }, /`identify` must be a function/],
    [{ userHeader: 'user id' }, /valid HTTP header name/],
    [{ maxTags: 1.5 }, /`maxTags` must be a positive integer/],
    [{ metric: {} }, /unknown option `metric`\. Did you mean `metrics`\?/],
    [{ metrics: { bearertoken: 'x' } }, /Did you mean `metrics\.bearerToken`\?/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveOptions(options as never, {})).toThrow(LlmscopeConfigError);
    expect(() => resolveOptions(options as never, {})).toThrow(message);
  });
});
