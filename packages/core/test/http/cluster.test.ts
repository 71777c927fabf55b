/**
 * Cluster mode (issue 15 item 8): real node:cluster workers, each running a node:http app with
 * llmscope, served as one /metrics by the primary (prom-client's AggregatorRegistry). Requests
 * spread over the workers; the aggregate counts every one of them and the histograms merge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { find, parseMetrics } from '@llmscope/testkit';
import { llmscopeClusterMetrics } from '../../src/http/cluster';

let child: ChildProcess;
let appPort = 0;
let metricsPort = 0;

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'fixtures', 'cluster-app.ts')], {
    env: { ...process.env, WORKERS: '3', NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`cluster app not ready within 60 s: ${stderr}`)), 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /ready (\d+) (\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        appPort = Number(m[1]);
        metricsPort = Number(m[2]);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`cluster app exited with ${code}: ${stderr}`)));
  });
}, 90_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/** One request on a connection of its own (the primary hands each connection to the next worker). */
function get(path: string): Promise<{ status: number; worker: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: appPort, path, agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-worker']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('requests spread over 3 workers: the primary\'s /metrics counts them all, histograms merged', async () => {
  const total = 60;
  const workers = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const r = await get(`/work/${i}`);
    expect(r.status).toBe(200);
    workers.set(r.worker, (workers.get(r.worker) ?? 0) + 1);
  }
  expect(workers.size).toBeGreaterThanOrEqual(2);

  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const s = parseMetrics(await res.text());
  const labels = { method: 'GET', route: '/work/:id', status_code: '200' };
  // One series per label set, summed over the workers (not one per worker).
  expect(find(s, 'http_server_requests_total', labels).map((x) => x.value)).toEqual([total]);
  expect(find(s, 'http_server_request_duration_seconds_count', labels).map((x) => x.value)).toEqual([total]);
  const inf = find(s, 'http_server_request_duration_seconds_bucket', { ...labels, le: '+Inf' });
  expect(inf.map((x) => x.value)).toEqual([total]);
  // Buckets merged: cumulative and ending at the total.
  const buckets = find(s, 'http_server_request_duration_seconds_bucket', labels).map((x) => x.value);
  expect(buckets.length).toBeGreaterThan(2);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1] as number);
  expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini', outcome: 'ok' }).map((x) => x.value)).toEqual([total]);
  expect(find(s, 'llmscope_llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' }).map((x) => x.value)).toEqual([10 * total]);
  // The in-flight gauge is summed too: nothing in flight between requests.
  expect(find(s, 'http_server_active_requests').map((x) => x.value)).toEqual([0]);
}, 120_000);

test('options fail fast; a bearer token is required when set', async () => {
  expect(() => llmscopeClusterMetrics({ port: 70000 })).toThrow(/port/);
  expect(() => llmscopeClusterMetrics({ port: 0, path: 'metrics' })).toThrow(/path/);
  const guarded = llmscopeClusterMetrics({ port: 0, host: '127.0.0.1', bearerToken: 'tok' });
  try {
    const { port } = await guarded.listening;
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    // Not a cluster primary with workers here: an empty aggregate.
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer tok' } });
    expect(ok.status).toBe(200);
  } finally {
    await guarded.close();
  }
});
