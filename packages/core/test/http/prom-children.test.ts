/**
 * The HTTP metrics' label children update prom-client's series in place (prom-children.ts): the
 * exposition must be exactly what prom-client's own children give for the same observations,
 * also across a registry reset.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { counterChild, histogramChild, seriesChildren } from '../../src/http/prom-children';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
// On a bound, between bounds, above the last bound, zero.
const VALUES = [0.005, 0.003, 0.07, 0.25, 3, 0, 0.0051, 1, 0.9];

function metrics(): { registry: Registry; duration: Histogram<string>; requests: Counter<string> } {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status_code'];
  const duration = new Histogram({ name: 'd_seconds', help: 'd', labelNames, buckets: BUCKETS, registers: [registry] });
  const requests = new Counter({ name: 'r_total', help: 'r', labelNames, registers: [registry] });
  return { registry, duration, requests };
}

const SERIES = [
  { method: 'GET', route: '/users/:id', status_code: '200' },
  { method: 'POST', route: '/users/:id', status_code: '500' },
];

test('the exposition equals prom-client children\'s for the same observations', async () => {
  const official = metrics();
  const lean = metrics();
  const officialChildren = SERIES.map((labels) => ({ duration: official.duration.labels(labels), count: official.requests.labels(labels) }));
  const leanChildren = SERIES.map((labels) => seriesChildren(lean.duration, lean.requests, { ...labels }));
  for (let round = 0; round < 3; round++) {
    for (const [i, value] of VALUES.entries()) {
      const s = i % SERIES.length;
      officialChildren[s]!.duration.observe(value);
      officialChildren[s]!.count.inc();
      leanChildren[s]!.duration.observe(value);
      leanChildren[s]!.count.inc();
    }
  }
  const text = await lean.registry.metrics();
  expect(text).toBe(await official.registry.metrics());
  expect(text).toContain('r_total{method="GET",route="/users/:id",status_code="200"} 15');
});

test('after a registry reset the series start again from zero', async () => {
  const { registry, duration, requests } = metrics();
  const children = seriesChildren(duration, requests, { ...SERIES[0]! });
  children.duration.observe(0.2);
  children.count.inc();
  registry.resetMetrics();
  children.duration.observe(0.02);
  children.count.inc();
  children.duration.observe(0.02);
  children.count.inc();
  const text = await registry.metrics();
  expect(text).toContain('r_total{method="GET",route="/users/:id",status_code="200"} 2');
  expect(text).toContain('d_seconds_bucket{le="0.025",method="GET",route="/users/:id",status_code="200"} 2');
  expect(text).toContain('d_seconds_sum{method="GET",route="/users/:id",status_code="200"} 0.04');
  expect(text).toContain('d_seconds_count{method="GET",route="/users/:id",status_code="200"} 2');
});

// The LLM metrics and the tail sampler's decisions count by amounts (tokens, dollars) and observe
// token counts through the same in-place children.
test('counting by amounts equals prom-client\'s children; values prom-client rejects are still rejected', async () => {
  const official = metrics();
  const lean = metrics();
  const labels = { method: 'GET', route: '/chat', status_code: '200' };
  const officialCount = official.requests.labels(labels);
  const officialTokens = official.duration.labels(labels);
  const leanCount = counterChild(lean.requests, { ...labels });
  const leanTokens = histogramChild(lean.duration, { ...labels });
  for (const n of [1, 0, 120, 0.000042, 3, 1e9]) {
    officialCount.inc(n);
    leanCount.inc(n);
    officialTokens.observe(n);
    leanTokens.observe(n);
  }
  leanCount.inc();
  officialCount.inc();
  expect(await lean.registry.metrics()).toBe(await official.registry.metrics());
  expect(() => leanCount.inc(-1)).toThrow(/decrease/);
  expect(() => leanCount.inc(Number.POSITIVE_INFINITY)).toThrow();
  expect(await lean.registry.metrics()).toBe(await official.registry.metrics());
});
