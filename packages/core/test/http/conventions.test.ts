import { find, memoryExporter, parseMetrics, waitForSpans } from '@llmscope/testkit';
import { Llmscope, LlmscopeConfigError, tag } from '../../src';
import { Registry } from 'prom-client';
import { chat, ragApp, type RagApp } from '../exporters/exporter-app';

const exporter = memoryExporter();
afterEach(() => exporter.reset());

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/metrics`, { headers });
}

describe('metrics.exclude: health checks are neither counted nor traced', () => {
  let app: RagApp;
  afterEach(async () => {
    await app.close();
    await app.mw.llmscope.shutdown();
  });

  test('exact paths (query ignored), templates with parameters and predicates', async () => {
    app = await ragApp({ metrics: { defaultMetrics: false, exclude: ['/ping', '/items/:id', (method, path) => method === 'GET' && path.startsWith('/internal/')] } }, (a) => {
      a.get('/items/:id', (_req, res) => { res.send('item'); });
      a.get('/internal/status', (_req, res) => { res.send('ok'); });
      a.get('/kept', (_req, res) => { res.send('kept'); });
    });
    for (const path of ['/ping', '/ping?probe=1', '/items/7', '/internal/status', '/kept']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status).toBe(200);
      // An excluded request is not traced: no trace id header.
      if (path !== '/kept' && path !== '/items/7') expect(res.headers.get('x-trace-id')).toBeNull();
    }
    const spans = await waitForSpans(exporter, (s) => s.some((x) => x.name === 'GET /kept'));
    const samples = parseMetrics(await (await scrape(app.url)).text());
    const routes = find(samples, 'http_server_requests_total').map((s) => s.labels.route);
    expect(routes).toEqual(['/kept']);
    expect(find(samples, 'http_server_active_requests')[0]?.value).toBe(0);
    // Exact paths and predicates are decided when the request starts: no span at all.
    expect(spans.map((s) => s.attributes['url.path'])).not.toContain('/ping');
    expect(spans.map((s) => s.attributes['url.path'])).not.toContain('/internal/status');
  });

  test('a step inside an excluded request starts no trace of its own', async () => {
    app = await ragApp({ metrics: { defaultMetrics: false, exclude: ['/chat/1'] } });
    const res = await fetch(`${app.url}/chat/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":"q"}' });
    expect(res.status).toBe(200);
    await fetch(`${app.url}/ping`);
    await waitForSpans(exporter, (s) => s.some((x) => x.name === 'GET /ping'));
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET /ping']);
  });

  test('not configured: isExcluded is false without looking at the path', () => {
    const scope = new Llmscope({ metrics: { defaultMetrics: false }, tracing: false });
    expect(scope.isExcluded('GET', '/healthz')).toBe(false);
  });

  test('a throwing predicate counts the request as usual', () => {
    const scope = new Llmscope({ metrics: { defaultMetrics: false, exclude: [() => { throw new Error('bad'); }] }, tracing: false });
    expect(scope.isExcluded('GET', '/healthz')).toBe(false);
  });

  test('invalid items are reported in the usual shape', () => {
    expect(() => new Llmscope({ metrics: { exclude: ['healthz'] } })).toThrow(LlmscopeConfigError);
    expect(() => new Llmscope({ metrics: { exclude: ['healthz'] } })).toThrow('option `metrics.exclude[0]` must be a path or route template starting with "/"');
    expect(() => new Llmscope({ metrics: { exclude: '/healthz' as never } })).toThrow('option `metrics.exclude` must be an array of paths');
  });
});

describe('metrics.prefix and metrics.labels', () => {
  let app: RagApp;
  afterEach(async () => {
    await app.close();
    await app.mw.llmscope.shutdown();
  });

  test('the prefix applies to every metric llmscope registers, default metrics included; constant labels to every series', async () => {
    app = await ragApp({ metrics: { prefix: 'myapp_', labels: { service: 'rag-api', env: 'prod' } } });
    await chat(app.url, 'hello');
    const samples = parseMetrics(await (await scrape(app.url)).text());
    expect(find(samples, 'myapp_http_server_requests_total', { route: '/chat/:id', service: 'rag-api', env: 'prod' })[0]?.value).toBe(1);
    expect(find(samples, 'myapp_llmscope_llm_tokens_total', { token_type: 'input' })[0]?.value).toBe(120);
    // One call: one input and one output observation.
    expect(find(samples, 'myapp_gen_ai_client_token_usage_count').map((s) => [s.labels.token_type, s.value]).sort()).toEqual([['input', 1], ['output', 1]]);
    expect(find(samples, 'myapp_process_cpu_user_seconds_total')).toHaveLength(1);
    expect(samples.filter((s) => !s.name.startsWith('myapp_'))).toEqual([]);
    expect(samples.filter((s) => s.labels.service !== 'rag-api' || s.labels.env !== 'prod')).toEqual([]);
  });

  test('default names unchanged without a prefix', async () => {
    app = await ragApp({ metrics: { defaultMetrics: false } });
    await chat(app.url, 'hello');
    const samples = parseMetrics(await (await scrape(app.url)).text());
    expect(find(samples, 'http_server_requests_total', { route: '/chat/:id' })[0]?.value).toBe(1);
    expect(find(samples, 'llmscope_llm_tokens_total', { token_type: 'input' })[0]?.value).toBe(120);
  });

  test('validation: prefix, label names and values, labels with an app registry', () => {
    expect(() => new Llmscope({ metrics: { prefix: 'my-app_' } })).toThrow('option `metrics.prefix` must be a Prometheus metric name prefix such as "myapp_" ([a-zA-Z_:][a-zA-Z0-9_:]*), got "my-app_".');
    expect(() => new Llmscope({ metrics: { labels: { 'service-name': 'x' } } })).toThrow('option `metrics.labels["service-name"]` must have a Prometheus label name');
    expect(() => new Llmscope({ metrics: { labels: { route: 'x' } } })).toThrow('option `metrics.labels.route` must have a Prometheus label name');
    expect(() => new Llmscope({ metrics: { labels: { env: 3 as never } } })).toThrow('option `metrics.labels.env` must be a string');
    expect(() => new Llmscope({ metrics: { labels: { env: 'prod' }, registry: new Registry() } })).toThrow('option `metrics.labels` cannot be combined with `metrics.registry`');
  });

  test('two instances on one app registry must agree on the prefix', () => {
    const registry = new Registry();
    const a = new Llmscope({ metrics: { registry, prefix: 'a_', defaultMetrics: false }, tracing: false });
    expect(registry.getSingleMetric('a_http_server_requests_total')).toBeDefined();
    expect(() => new Llmscope({ metrics: { registry, prefix: 'b_', defaultMetrics: false }, tracing: false })).toThrow('another llmscope instance registers in the same registry');
    void a.shutdown();
  });
});

describe('metrics.port: the endpoint on a port of its own', () => {
  test('served there (bearer token honoured), not on the app port; closed by shutdown()', async () => {
    const app = await ragApp({ metrics: { defaultMetrics: false, port: 0, host: '127.0.0.1', bearerToken: 's3cret' } });
    const scope = app.mw.llmscope;
    try {
      const { port } = await (scope.metricsListening as Promise<{ port: number }>);
      await fetch(`${app.url}/ping`);
      const own = `http://127.0.0.1:${port}`;
      expect((await fetch(`${own}/metrics`)).status).toBe(401);
      const ok = await fetch(`${own}/metrics?x=1`, { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(find(parseMetrics(await ok.text()), 'http_server_requests_total', { route: '/ping' })[0]?.value).toBe(1);
      expect((await fetch(`${own}/other`)).status).toBe(404);
      expect((await fetch(`${own}/metrics`, { method: 'POST' })).status).toBe(405);
      // The app's port has no metrics route: the app's own 404.
      expect((await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(404);
      expect(scope.metricsPath).toBeUndefined();
      await scope.shutdown();
      await expect(fetch(`${own}/metrics`)).rejects.toThrow();
    } finally {
      await app.close();
      await scope.shutdown();
    }
  });

  test('a port in use: a warning and a rejected metricsListening, no crash', async () => {
    const first = new Llmscope({ metrics: { defaultMetrics: false, port: 0, host: '127.0.0.1' }, tracing: false });
    const { port } = await (first.metricsListening as Promise<{ port: number }>);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const second = new Llmscope({ metrics: { defaultMetrics: false, port, host: '127.0.0.1' }, tracing: false });
      await expect(second.metricsListening).rejects.toThrow(`llmscope: cannot serve metrics on 127.0.0.1 port ${port}: the port is in use`);
      expect(warn.mock.calls.some(([w]) => String(w).includes('cannot serve metrics'))).toBe(true);
      await second.shutdown();
    } finally {
      warn.mockRestore();
      await first.shutdown();
    }
  });

  test('validation', () => {
    expect(() => new Llmscope({ metrics: { port: 70000 } })).toThrow('option `metrics.port` must be a port number from 0 to 65535, such as 9464 (0: any free port), got 70000.');
    expect(() => new Llmscope({ metrics: { port: 9464, host: '' } })).toThrow('option `metrics.host` must be a host name or address');
    expect(() => new Llmscope({ metrics: { host: '127.0.0.1' } })).toThrow('option `metrics.host` is the interface of the `metrics.port` server: set `metrics.port` too');
    expect(() => new Llmscope({ metrics: { port: 9464, path: false } })).toThrow('option `metrics.port` serves the metrics endpoint, but `metrics.path` is false');
  });
});

describe('content negotiation: OpenMetrics when asked', () => {
  const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

  test('Accept: application/openmetrics-text gets OpenMetrics (# EOF, counters as x_total); the Prometheus text stays intact', async () => {
    const app = await ragApp({ metrics: { prefix: 'myapp_', labels: { env: 'prod' } } });
    try {
      await chat(app.url, 'hello');
      const om = await scrape(app.url, { accept: PROMETHEUS_ACCEPT });
      expect(om.status).toBe(200);
      expect(om.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      const text = await om.text();
      expect(text.endsWith('# EOF\n')).toBe(true);
      expect(text).toContain('# TYPE myapp_http_server_requests counter');
      expect(text).toMatch(/^myapp_http_server_requests_total\{[^}]*route="\/chat\/:id"[^}]*env="prod"[^}]*\} 1$/m);
      expect(text).not.toContain('_total_total');
      // The same registry still answers Prometheus text 0.0.4, counter names untouched.
      for (const accept of [undefined, 'text/plain']) {
        const res = await scrape(app.url, accept === undefined ? {} : { accept });
        expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
        const samples = parseMetrics(await res.text());
        expect(find(samples, 'myapp_http_server_requests_total', { route: '/chat/:id', env: 'prod' })[0]?.value).toBe(1);
      }
    } finally {
      await app.close();
      await app.mw.llmscope.shutdown();
    }
  });

  test('on the metrics port too', async () => {
    const scope = new Llmscope({ metrics: { defaultMetrics: false, port: 0, host: '127.0.0.1' }, tracing: false });
    try {
      const { port } = await (scope.metricsListening as Promise<{ port: number }>);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept: 'application/openmetrics-text' } });
      expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
      expect((await res.text()).endsWith('# EOF\n')).toBe(true);
    } finally {
      await scope.shutdown();
    }
  });
});

describe('metrics.tagLabels: bounded labels from the request context', () => {
  test('declared tags label the HTTP metrics, capped; absent → none; undeclared tags are not labels', async () => {
    const app = await ragApp({ metrics: { defaultMetrics: false, tagLabels: { tier: { max: 2 } } } }, (a) => {
      a.get('/t/:tier', (req, res) => {
        if (req.params.tier !== 'untagged') tag('tier', req.params.tier);
        tag('customer', 'c-123');
        res.send('ok');
      });
    });
    try {
      for (const tier of ['free', 'paid', 'paid', 'enterprise', 'gold', 'untagged']) expect((await fetch(`${app.url}/t/${tier}`)).status).toBe(200);
      const samples = find(parseMetrics(await (await scrape(app.url)).text()), 'http_server_requests_total', { route: '/t/:tier' });
      expect(Object.fromEntries(samples.map((x) => [x.labels.tier, x.value]))).toEqual({ free: 1, paid: 2, other: 2, none: 1 });
      expect(samples.every((x) => x.labels.customer === undefined)).toBe(true);
    } finally {
      await app.close();
      await app.mw.llmscope.shutdown();
    }
  });

  test('numbers and booleans are labelled as text; validation', async () => {
    const scope = new Llmscope({ metrics: { defaultMetrics: false, tagLabels: { plan: { max: 5 } } }, tracing: false });
    const ctx = scope.startRequest('GET', '/x', {}, undefined);
    scope.run(ctx, () => tag('plan', 3));
    scope.finishRequest(ctx, 200);
    const s = parseMetrics((await scope.handleMetrics(undefined)).body);
    expect(find(s, 'http_server_requests_total', { plan: '3' })[0]?.value).toBe(1);
    expect(() => new Llmscope({ metrics: { tagLabels: { tier: {} as never } } })).toThrow('option `metrics.tagLabels.tier.max` is required: a positive integer');
    expect(() => new Llmscope({ metrics: { tagLabels: { tier: { max: 0 } } } })).toThrow('option `metrics.tagLabels.tier.max` must be a positive integer');
    expect(() => new Llmscope({ metrics: { tagLabels: { route: { max: 3 } } } })).toThrow('option `metrics.tagLabels.route` must have a Prometheus label name');
    expect(() => new Llmscope({ metrics: { tagLabels: { 'user-tier': { max: 3 } } } })).toThrow('option `metrics.tagLabels["user-tier"]` must have a Prometheus label name');
    expect(() => new Llmscope({ metrics: { labels: { env: 'prod' }, tagLabels: { env: { max: 3 } } } })).toThrow('nor a key of `metrics.labels`');
  });
});
