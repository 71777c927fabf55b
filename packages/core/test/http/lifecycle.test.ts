import { SpanStatusCode } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { Llmscope, traceLLM, step } from '../../src';
import { memoryExporter, find, parseMetrics } from '@llmscope/testkit';

const exporter = memoryExporter();
afterEach(() => exporter.reset());

async function samples(scope: Llmscope) {
  return parseMetrics((await scope.handleMetrics(undefined)).body);
}

describe('the framework-neutral lifecycle', () => {
  test('labels stay bounded: unknown methods, odd status codes and too many routes', async () => {
    const scope = new Llmscope({ maxRoutes: 3, metrics: { defaultMetrics: false } });
    const run = (method: string, route: string | undefined, status: number): void => {
      const ctx = scope.startRequest(method, '/x', {}, undefined);
      if (route) scope.setRoute(ctx, route);
      scope.finishRequest(ctx, status);
    };
    run('get', '/a', 200);
    run('BREW', '/a', 200);
    run('GET', '/a', 999);
    for (let i = 0; i < 10; i++) run('GET', `/r${i}`, 200);
    const s = find(await samples(scope), 'http_server_requests_total');
    expect(find(s, 'http_server_requests_total', { method: 'GET', route: '/a', status_code: '200' })[0]?.value).toBe(1);
    expect(find(s, 'http_server_requests_total', { method: '_OTHER', route: '/a' })[0]?.value).toBe(1);
    expect(find(s, 'http_server_requests_total', { route: '/a', status_code: 'invalid' })[0]?.value).toBe(1);
    expect(new Set(s.map((x) => x.labels.route))).toEqual(new Set(['/a', '/r0', '/r1', 'other']));
    expect(find(s, 'http_server_requests_total', { route: 'other' })[0]?.value).toBe(8);
  });

  test('finishRequest is idempotent and the in-flight gauge returns to zero', async () => {
    const scope = new Llmscope({ metrics: { defaultMetrics: false } });
    const ctx = scope.startRequest('GET', '/x', {}, undefined);
    expect(find(await samples(scope), 'http_server_active_requests')[0]?.value).toBe(1);
    scope.finishRequest(ctx, 200);
    scope.finishRequest(ctx, 500);
    const s = await samples(scope);
    expect(find(s, 'http_server_active_requests')[0]?.value).toBe(0);
    expect(find(s, 'http_server_requests_total')).toHaveLength(1);
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });

  test('two instances on one app registry report their requests in flight summed, until one shuts down', async () => {
    const registry = new Registry();
    const a = new Llmscope({ metrics: { registry, defaultMetrics: false }, tracing: false });
    const b = new Llmscope({ metrics: { registry, defaultMetrics: false }, tracing: false });
    const inFlight = async (): Promise<number | undefined> => find(parseMetrics(await registry.metrics()), 'http_server_active_requests')[0]?.value;
    const ctxA = a.startRequest('GET', '/x', {}, undefined);
    const ctxB1 = b.startRequest('GET', '/x', {}, undefined);
    b.startRequest('GET', '/x', {}, undefined);
    expect(await inFlight()).toBe(3);
    b.finishRequest(ctxB1, 200);
    expect(await inFlight()).toBe(2);
    await b.shutdown();
    expect(await inFlight()).toBe(1);
    a.finishRequest(ctxA, 200);
    expect(await inFlight()).toBe(0);
    await a.shutdown();
  });

  test('a 5xx without an error is ERROR with error.type = the status code', () => {
    const scope = new Llmscope({ metrics: false });
    const ctx = scope.startRequest('POST', '/x?q=secret', { 'x-user-id': ['first', 'second'] }, undefined);
    scope.setRoute(ctx, '/x');
    scope.finishRequest(ctx, 503);
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes).toMatchObject({ 'error.type': '503', 'url.path': '/x', 'user.id': 'first' });
  });

  test('step() and traceLLM() pass values and errors through untouched', async () => {
    const scope = new Llmscope({ metrics: { defaultMetrics: false } });
    expect(step('sync', () => 42)).toBe(42);
    await expect(step('async', async () => 'v')).resolves.toBe('v');
    const boom = new RangeError('nope');
    expect(() => step('throws', () => {
      throw boom;
    })).toThrow(boom);
    await expect(traceLLM({ model: 'm' }, async () => {
      throw boom;
    })).rejects.toBe(boom);
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'chat m');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('RangeError');
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'm', outcome: 'error' })[0]?.value).toBe(1);
    // Usage reported through the handle wins over the result.
    const out = await scope.traceLLM({ model: 'h', provider: 'p' }, async (call) => {
      call.setUsage({ inputTokens: 7, outputTokens: 9 });
      call.setResponseModel('h-2');
      return 'text';
    });
    expect(out).toBe('text');
    const h = exporter.getFinishedSpans().find((x) => x.name === 'chat h');
    expect(h?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 9, 'gen_ai.response.model': 'h-2' });
  });
});
