import express from 'express';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { OtlpReceiver, find, listen, memoryExporter, parseMetrics, type Listening, type ReceivedSpan, type Sample } from '@llmscope/testkit';
import { llmscope, step, tag, traceLLM, type LlmscopeMiddleware, type LlmscopeOptions } from '@llmscope/express';
import { traceIdFraction } from '../../src/sampling/decide';
import { completion } from '../exporters/exporter-app';

/**
 * `POST /ask/:kind`: a retrieval step and an LLM call (120 input / 30 output tokens of
 * gpt-4o-mini) for every kind; `error` then fails (500), `slow` waits {@link SLOW_DELAY_MS} first. The request
 * header `x-tier` becomes the tag `tier`. `GET /propagate` answers the traceparent an outgoing
 * call would carry.
 */
/**
 * How long a `slow` request waits, and the `slowMs` the tests set: far apart, so that an `ok`
 * request on a loaded machine (a shared 2-core CI box, 25 concurrent requests) never passes for
 * a slow one, and a slow one is never under the threshold.
 */
const SLOW_DELAY_MS = 1000;
const SLOW_MS = 500;

async function samplingApp(options: LlmscopeOptions<express.Request>): Promise<{ url: string; mw: LlmscopeMiddleware; listening: Listening }> {
  const app = express();
  const mw = llmscope(options);
  app.use(mw);
  app.post('/ask/:kind', async (req, res) => {
    const tier = req.headers['x-tier'];
    if (typeof tier === 'string') tag('tier', tier);
    await step('vector_search', async () => ['doc']);
    if (req.params.kind === 'slow') await new Promise((r) => setTimeout(r, SLOW_DELAY_MS));
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('answer'));
    if (req.params.kind === 'error') throw new Error('model answer rejected');
    res.json({ ok: true });
  });
  app.get('/propagate', async (_req, res) => {
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('answer'));
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    res.json(carrier);
  });
  // Another instrumentation's GenAI span (as @opentelemetry/instrumentation-openai makes), and a plain step.
  app.get('/foreign', (_req, res) => {
    const span = trace.getTracer('foreign-genai').startSpan('chat foreign-model', {
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'foreign-model', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 },
    });
    const plain = trace.getTracer('app').startSpan('plain');
    // Read before end(): an ended span no longer reports itself recording.
    res.json({ genai: { recording: span.isRecording(), flags: span.spanContext().traceFlags }, plain: { recording: plain.isRecording() } });
    span.end();
    plain.end();
  });
  const listening = await listen(app);
  return { url: listening.url, mw, listening };
}

/** Runs `total` jobs with at most `concurrency` at once. */
async function pool<T>(total: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      out[i] = await job(i);
    }
  }));
  return out;
}

async function ask(url: string, kind: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/ask/${kind}`, { method: 'POST', headers });
  await res.arrayBuffer();
  const traceId = res.headers.get('x-trace-id');
  if (traceId === null) throw new Error('no x-trace-id');
  return traceId;
}

/**
 * The spans a receiver got, each once: an export that timed out on a loaded machine (10 s) after
 * the receiver had it is sent again (OTLP delivery is at least once). What these tests count is
 * which spans the sampler kept, not how many times the network carried them.
 */
function received(receiver: OtlpReceiver, traceId?: string): ReceivedSpan[] {
  const byId = new Map<string, ReceivedSpan>();
  for (const s of traceId === undefined ? receiver.spans : receiver.trace(traceId)) byId.set(s.spanId, s);
  return [...byId.values()];
}

function sum(samples: Sample[]): number {
  return samples.reduce((t, s) => t + s.value, 0);
}

describe('sampling', () => {
  /** Every span before sampling: how long each request took as the sampler saw it. */
  const seen = memoryExporter();
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await new OtlpReceiver().start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  test('1000 requests, 2% errors, 3% slow: every error and slow trace exported whole, the rest at the base rate; metrics count all 1000 and their cost', async () => {
    const app = await samplingApp({ exporters: { otlp: { url: receiver.tracesUrl } }, sampling: { tail: { baseRate: 0.05, slowMs: SLOW_MS, routeLatency: false } } });
    const kindOf = (i: number): string => (i % 50 === 0 ? 'error' : i % 100 >= 1 && i % 100 <= 3 ? 'slow' : 'ok');
    const traceIds = await pool(1000, 25, (i) => ask(app.url, kindOf(i)));
    const scope = app.mw.llmscope;
    const metrics = parseMetrics(await scope.registry!.metrics());
    await scope.shutdown();
    await app.listening.close();

    // An `ok` request that took SLOW_MS or more on a loaded machine (seen here before sampling,
    // as the sampler saw it) is slow too, and kept as such or for the base rate.
    const slowTraces = new Set(seen.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && s.duration[0] * 1000 + s.duration[1] / 1e6 >= SLOW_MS).map((s) => s.spanContext().traceId));
    const slowOk = new Set(traceIds.filter((id, i) => kindOf(i) === 'ok' && slowTraces.has(id)));
    const exported = new Map<string, number>();
    for (const s of received(receiver)) exported.set(s.traceId, (exported.get(s.traceId) ?? 0) + 1);
    const byKind = { error: [] as string[], slow: [] as string[], ok: [] as string[] };
    traceIds.forEach((id, i) => byKind[kindOf(i) as keyof typeof byKind].push(id));
    expect(byKind.error).toHaveLength(20);
    expect(byKind.slow).toHaveLength(30);
    // Every error and slow trace, with all three of its spans (request, vector_search, LLM call).
    for (const id of [...byKind.error, ...byKind.slow]) expect(exported.get(id)).toBe(3);
    // The others: kept exactly when their trace id falls under the base rate (the rule is exact)...
    const keptOk = byKind.ok.filter((id) => exported.has(id) && !slowOk.has(id));
    for (const id of byKind.ok) if (!slowOk.has(id)) expect(exported.has(id)).toBe(traceIdFraction(id) < 0.05);
    for (const id of keptOk) expect(exported.get(id)).toBe(3);
    // ...and trace ids are random, so how many is binomial(n, 0.05), n the ok requests that were
    // not slow (950 unless the machine was loaded): for 950, mean 47.5, σ 6.72. Bound: 5σ, [14, 81]
    // (a false failure once in ~1.7 million runs).
    const n = byKind.ok.length - slowOk.size;
    const sigma = Math.sqrt(n * 0.05 * 0.95);
    console.log(`[sampling] base rate 5%: kept ${keptOk.length} of ${byKind.ok.length} ok traces (${(100 * keptOk.length / byKind.ok.length).toFixed(2)}%), ${exported.size} of 1000 traces exported, ${slowOk.size} ok requests took ${SLOW_MS} ms or more`);
    expect(keptOk.length).toBeGreaterThanOrEqual(Math.ceil(0.05 * n - 5 * sigma));
    expect(keptOk.length).toBeLessThanOrEqual(Math.floor(0.05 * n + 5 * sigma));
    const keptSlowOk = [...slowOk].filter((id) => exported.has(id));
    expect(keptSlowOk).toHaveLength(slowOk.size);
    for (const id of keptSlowOk) expect(exported.get(id)).toBe(3);
    expect(exported.size).toBe(50 + keptOk.length + keptSlowOk.length);

    // Metrics saw 100% of the requests and LLM calls, whatever was exported.
    expect(sum(find(metrics, 'http_server_requests_total', { route: '/ask/:kind' }))).toBe(1000);
    expect(sum(find(metrics, 'http_server_requests_total', { route: '/ask/:kind', status_code: '500' }))).toBe(20);
    expect(sum(find(metrics, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' }))).toBe(1000);
    const oneCall = scope.genai.prices.cost('openai', ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'], { inputTokens: 120, outputTokens: 30 });
    expect(oneCall).toBeGreaterThan(0);
    expect(sum(find(metrics, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o-mini' }))).toBeCloseTo(1000 * (oneCall as number), 9);
    expect(sum(find(metrics, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' }))).toBe(120000);
    // The sampler's own account of the decisions.
    expect(find(metrics, 'llmscope_sampling_traces_total', { decision: 'kept', reason: 'error' })[0]?.value).toBe(20);
    const decisions = (decision: string, reason: string): number => find(metrics, 'llmscope_sampling_traces_total', { decision, reason })[0]?.value ?? 0;
    expect(decisions('kept', 'slow')).toBe(30 + slowOk.size);
    expect(decisions('kept', 'base_rate')).toBe(keptOk.length);
    expect(decisions('dropped', 'sampled_out')).toBe(950 - keptOk.length - keptSlowOk.length);
  }, 180_000); // 1000 requests: 56 s (and over 60 s) on this 2-core machine at a load average of 14

  test('priority rules: every trace of a user in the set, tagged tier=paid, or matching the predicate is kept', async () => {
    const app = await samplingApp({
      exporters: { otlp: { url: receiver.tracesUrl } },
      sampling: { tail: { baseRate: 0, routeLatency: false, priority: { users: ['vip-1', 'vip-2'], tags: { tier: ['paid', 'enterprise'] }, when: (t) => t.root.attributes['user.id'] === 'debug-me' } } },
    });
    const vip = await pool(30, 10, (i) => ask(app.url, 'ok', { 'x-user-id': `vip-${1 + (i % 2)}` }));
    const paid = await pool(30, 10, (i) => ask(app.url, 'ok', { 'x-user-id': `user-${i}`, 'x-tier': i % 3 === 0 ? 'enterprise' : 'paid' }));
    const debug = await pool(5, 5, () => ask(app.url, 'ok', { 'x-user-id': 'debug-me' }));
    const others = await pool(40, 10, (i) => ask(app.url, 'ok', { 'x-user-id': `user-${i}`, 'x-tier': 'free' }));
    const scope = app.mw.llmscope;
    await scope.shutdown();
    await app.listening.close();
    const exported = new Set(received(receiver).map((s) => s.traceId));
    for (const id of [...vip, ...paid, ...debug]) expect(exported.has(id)).toBe(true);
    for (const id of others) expect(exported.has(id)).toBe(false);
    expect(received(receiver)).toHaveLength(3 * 65);
    expect(scope.samplingStats()?.decisions).toMatchObject({ priority: 65, sampled_out: 40, base_rate: 0 });
  }, 60000);

  test('rolling route p95: a request slower than its route\'s recent p95 is kept', async () => {
    const app = await samplingApp({ exporters: { otlp: { url: receiver.tracesUrl } }, sampling: { tail: { baseRate: 0, routeLatency: { window: 100, minSamples: 40 } } } });
    for (let i = 0; i < 60; i++) await ask(app.url, 'ok');
    const tail = app.mw.llmscope.sampling?.tail;
    const threshold = tail?.rules.routeLatency?.threshold('/ask/:kind') ?? Infinity;
    // Learnt from fast requests: below what a slow one takes, however loaded the machine.
    expect(threshold).toBeLessThan(SLOW_DELAY_MS);
    const slow = await ask(app.url, 'slow');
    await app.mw.llmscope.shutdown();
    await app.listening.close();
    expect(received(receiver, slow)).toHaveLength(3);
    expect(tail?.stats.decisions.route_latency).toBeGreaterThanOrEqual(1);
  }, 30000);

  test('parent-based head sampling respects the incoming traceparent; metrics count the unsampled requests too', async () => {
    const app = await samplingApp({ exporters: { otlp: { url: receiver.tracesUrl } }, sampling: { tail: { baseRate: 1 } } });
    const parentTrace = (flags: string): { traceId: string; header: string } => {
      const traceId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
      return { traceId, header: `00-${traceId}-00f067aa0ba902b7-${flags}` };
    };
    const off = parentTrace('00');
    const on = parentTrace('01');
    const offOut = (await (await fetch(`${app.url}/propagate`, { headers: { traceparent: off.header } })).json()) as { traceparent: string };
    const onOut = (await (await fetch(`${app.url}/propagate`, { headers: { traceparent: on.header } })).json()) as { traceparent: string };
    const scope = app.mw.llmscope;
    const metrics = parseMetrics(await scope.registry!.metrics());
    await scope.shutdown();
    await app.listening.close();
    // The decision travels on: downstream services see the same flag.
    expect(offOut.traceparent).toMatch(new RegExp(`^00-${off.traceId}-[0-9a-f]{16}-00$`));
    expect(onOut.traceparent).toMatch(new RegExp(`^00-${on.traceId}-[0-9a-f]{16}-01$`));
    expect(receiver.trace(off.traceId)).toHaveLength(0);
    const spans = received(receiver, on.traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(['GET /propagate', 'chat gpt-4o-mini']);
    expect(spans.find((s) => s.name === 'GET /propagate')?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(sum(find(metrics, 'http_server_requests_total', { route: '/propagate' }))).toBe(2);
    expect(sum(find(metrics, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' }))).toBe(2);
  }, 30000);

  test('a head "drop" records nothing, except GenAI spans of other instrumentations, which metrics still count', async () => {
    const app = await samplingApp({ exporters: { otlp: { url: receiver.tracesUrl } }, sampling: { head: { ratio: 0, parentBased: false } } });
    const body = (await (await fetch(`${app.url}/foreign`)).json()) as { genai: { recording: boolean; flags: number }; plain: { recording: boolean } };
    const scope = app.mw.llmscope;
    const metrics = parseMetrics(await scope.registry!.metrics());
    await scope.shutdown();
    await app.listening.close();
    expect(body).toEqual({ genai: { recording: true, flags: 0 }, plain: { recording: false } });
    expect(receiver.spans).toHaveLength(0);
    expect(sum(find(metrics, 'http_server_requests_total', { route: '/foreign' }))).toBe(1);
    expect(sum(find(metrics, 'gen_ai_client_operation_duration_seconds_count', { model: 'foreign-model' }))).toBe(1);
    expect(sum(find(metrics, 'llmscope_llm_tokens_total', { model: 'foreign-model', token_type: 'input' }))).toBe(10);
  }, 30000);
});
