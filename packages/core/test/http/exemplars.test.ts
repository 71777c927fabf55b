/**
 * Exemplars (issue 15 item 7): with OpenMetrics negotiated, the HTTP and LLM duration histograms
 * carry the trace id of a request as an exemplar. Checked on the exposition itself and through a
 * real Prometheus (Debian's package) with exemplar storage on, scraping a real Express app:
 * `/api/v1/query_exemplars` returns the trace id of a real request.
 */
import express from 'express';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { llmscope, traceLLM, Llmscope } from '@llmscope/express';
import { find, listen, parseMetrics, startPrometheus, type Listening, type PrometheusServer } from '@llmscope/testkit';
import { prometheusBinary } from '../../../../test/prometheus-binary';

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

let app: Listening;
let prometheus: PrometheusServer | undefined;

async function startApp(options: Parameters<typeof llmscope>[0]): Promise<Listening> {
  const server = express();
  server.use(llmscope(options));
  server.get('/slow', async (_req, res) => {
    await new Promise((r) => setTimeout(r, 120));
    res.json({ ok: true });
  });
  server.post('/llm', async (_req, res) => {
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { usage: { prompt_tokens: 3, completion_tokens: 1 } };
    });
    res.json({ ok: true });
  });
  return listen(server);
}

/** Prometheus with exemplar storage, scraping `target` every second. */
function startExemplarPrometheus(target: string): Promise<PrometheusServer> {
  return startPrometheus({ binary: prometheusBinary(), job: 'app', targets: [target], flags: ['--enable-feature=exemplar-storage'] });
}

interface ExemplarSeries { seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string }> }

async function queryExemplars(url: string, query: string): Promise<ExemplarSeries[]> {
  const now = Date.now() / 1000;
  const res = await fetch(`${url}/api/v1/query_exemplars?query=${encodeURIComponent(query)}&start=${now - 600}&end=${now + 60}`);
  const body = await res.json() as { status: string; data: ExemplarSeries[]; error?: string };
  if (body.status !== 'success') throw new Error(`query_exemplars failed: ${body.error ?? res.status}`);
  return body.data;
}

beforeAll(async () => {
  app = await startApp({ metrics: { defaultMetrics: false }, tracing: { spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] } });
});

afterAll(async () => {
  await prometheus?.close();
  await app.close();
});

test('OpenMetrics scrape: the request and LLM duration buckets carry the trace ids of real requests; the text format has none and parses', async () => {
  const slow = await fetch(`${app.url}/slow`);
  const slowTrace = slow.headers.get('x-trace-id');
  expect(slowTrace).toMatch(/^[0-9a-f]{32}$/);
  const llm = await fetch(`${app.url}/llm`, { method: 'POST' });
  const llmTrace = llm.headers.get('x-trace-id');
  expect(llmTrace).toMatch(/^[0-9a-f]{32}$/);

  const om = await fetch(`${app.url}/metrics`, { headers: { accept: OPENMETRICS } });
  expect(om.headers.get('content-type')).toContain('application/openmetrics-text');
  const text = await om.text();
  expect(text.endsWith('# EOF\n')).toBe(true);
  // The 120 ms request's exemplar sits on the one bucket its duration falls in (0.25 on an idle
  // machine; a loaded one may push it higher): value at least 0.12 s and within the bucket's bound.
  const slowLines = text.split('\n').filter((l) => l.startsWith('http_server_request_duration_seconds_bucket{') && l.includes('route="/slow"') && l.includes(`trace_id="${slowTrace}"`));
  expect(slowLines).toHaveLength(1);
  const exemplar = /le="([^"]+)".*# \{trace_id="[0-9a-f]{32}"\} (\d+\.\d+(?:e-?\d+)?) \d+\.\d+$/.exec(slowLines[0] as string);
  expect(exemplar).not.toBeNull();
  const [, le, value] = exemplar as RegExpExecArray;
  expect(Number(value)).toBeGreaterThanOrEqual(0.12);
  expect(Number(value)).toBeLessThanOrEqual(le === '+Inf' ? Infinity : Number(le));
  const llmLines = text.split('\n').filter((l) => l.startsWith('gen_ai_client_operation_duration_seconds_bucket{') && l.includes(`trace_id="${llmTrace}"`));
  expect(llmLines).toHaveLength(1);
  expect(llmLines[0]).toContain('outcome="ok"');
  // Other histograms (token usage) carry none.
  expect(text.split('\n').filter((l) => l.startsWith('gen_ai_client_token_usage_bucket') && l.includes('# {'))).toEqual([]);

  const plain = await fetch(`${app.url}/metrics`);
  expect(plain.headers.get('content-type')).toContain('text/plain');
  const plainText = await plain.text();
  expect(plainText).not.toContain('trace_id');
  const samples = parseMetrics(plainText);
  expect(find(samples, 'http_server_request_duration_seconds_count', { route: '/slow' })[0]?.value).toBe(1);
});

test('a real Prometheus with exemplar storage returns the trace id of a real request from /api/v1/query_exemplars', async () => {
  prometheus = await startExemplarPrometheus(new URL(app.url).host);
  const res = await fetch(`${app.url}/slow`);
  const traceId = res.headers.get('x-trace-id') as string;
  const llm = await fetch(`${app.url}/llm`, { method: 'POST' });
  const llmTrace = llm.headers.get('x-trace-id') as string;
  const deadline = Date.now() + 60_000;
  let http: ExemplarSeries[] = [];
  let genai: ExemplarSeries[] = [];
  for (;;) {
    http = await queryExemplars(prometheus.url, 'http_server_request_duration_seconds_bucket{route="/slow"}');
    genai = await queryExemplars(prometheus.url, 'gen_ai_client_operation_duration_seconds_bucket');
    const ids = (s: ExemplarSeries[]): string[] => s.flatMap((x) => x.exemplars.map((e) => e.labels.trace_id as string));
    if (ids(http).includes(traceId) && ids(genai).includes(llmTrace)) break;
    if (Date.now() > deadline) throw new Error(`exemplars not found within 60 s: ${JSON.stringify({ http, genai })}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const hit = http.find((s) => s.exemplars.some((e) => e.labels.trace_id === traceId)) as ExemplarSeries;
  expect(hit.seriesLabels).toMatchObject({ __name__: 'http_server_request_duration_seconds_bucket', route: '/slow', method: 'GET', status_code: '200', le: '0.25' });
  // Prometheus scraped OpenMetrics (exemplars are only in it) and still reads the counters.
  const q = await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('http_server_requests_total{route="/slow"}')}`)).json() as { data: { result: Array<{ value: [number, string] }> } };
  expect(Number(q.data.result[0]?.value[1])).toBeGreaterThanOrEqual(2);
}, 180_000);

test('metrics.exemplars: false: none in the OpenMetrics exposition; a non-boolean fails fast', async () => {
  const off = await startApp({ metrics: { defaultMetrics: false, registry: new (await import('prom-client')).Registry(), exemplars: false }, tracing: { spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] } });
  try {
    await fetch(`${off.url}/slow`);
    const text = await (await fetch(`${off.url}/metrics`, { headers: { accept: OPENMETRICS } })).text();
    expect(text).toContain('http_server_request_duration_seconds_bucket{');
    expect(text).not.toContain('trace_id');
  } finally {
    await off.close();
  }
  expect(() => new Llmscope({ metrics: { exemplars: 'yes' as unknown as boolean } })).toThrow(/metrics\.exemplars/);
});

test('no exemplar without a recording span (tracing off)', async () => {
  const untraced = await startApp({ metrics: { defaultMetrics: false }, tracing: false });
  try {
    await fetch(`${untraced.url}/slow`);
    const text = await (await fetch(`${untraced.url}/metrics`, { headers: { accept: OPENMETRICS } })).text();
    expect(text).toContain('route="/slow"');
    expect(text).not.toContain('trace_id');
  } finally {
    await untraced.close();
  }
});
