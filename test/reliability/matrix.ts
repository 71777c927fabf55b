/**
 * The load-and-fault matrix (issue 18 item 6): `npm run reliability:matrix [-- --duration 5
 * --rate 200 --adapters express,fastify,nest --backends otlp,langfuse,sentry]`. Not a test (not
 * in CI): a steady request rate on each adapter with each backend healthy, dead (connection
 * refused), black-holed (accepts, never answers), slow (answers after 10 s), failing (500) and
 * resetting connections. Per cell: failed app requests (goal 0), p99 against the healthy cell of
 * the same adapter and backend (goal within 5%), heap after GC before and after, and telemetry
 * produced, received by the backend and counted as dropped. Prints a Markdown table. Each backend
 * runs in a process of its own (matrix-backend.ts), so that its decoding does not share the app's
 * event loop and heap: the healthy cell would otherwise be the one that costs the app most.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { step, traceLLM, type LlmscopeOptions } from '@llmscope/core';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { find, parseMetrics, percentile, type FaultMode } from '@llmscope/testkit';
import type { BackendReady } from './matrix-backend';
import { adapters, type FuzzApp } from './apps';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

type BackendName = 'otlp' | 'langfuse' | 'sentry';
type State = 'healthy' | 'dead' | 'blackhole' | 'slow' | 'failing' | 'reset';
const STATES: State[] = ['healthy', 'dead', 'blackhole', 'slow', 'failing', 'reset'];

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (i >= 0 && (value === undefined || value.startsWith('--'))) throw new Error(`--${name} needs a value`);
  return value ?? fallback;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, not ${text}`);
  return n;
}

const DURATION_S = positive('duration', flag('duration', '60'));
const RATE = positive('rate', flag('rate', '200'));
const ADAPTERS = flag('adapters', 'express,fastify,nest').split(',');
const BACKENDS = flag('backends', 'otlp,langfuse,sentry').split(',') as BackendName[];
for (const a of ADAPTERS) if (!adapters.some((x) => x.name === a)) throw new Error(`--adapters: unknown adapter ${a}`);
for (const b of BACKENDS) if (!['otlp', 'langfuse', 'sentry'].includes(b)) throw new Error(`--backends: unknown backend ${b}`);

/** Every 10th request is the app's own 500 (an error for Sentry); the others answer 200. */
const isBoom = (i: number): boolean => i % 10 === 9;
/** Spans per answered request: the server span, a step and an LLM call. */
const SPANS_PER_REQUEST = 3;

/** A TCP server that accepts and resets every connection (RST). */
async function resetter(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }) };
}

interface CellBackend {
  options: NonNullable<LlmscopeOptions['exporters']>;
  /** Telemetry the backend received: spans (OTLP, Langfuse) or error events (Sentry). */
  received(): Promise<number>;
  close(): Promise<void>;
}

/** A backend process (matrix-backend.ts): started, and ready with its port. */
async function forkBackend(name: BackendName, mode: FaultMode): Promise<{ child: ChildProcess; ready: BackendReady }> {
  const child = fork(join(process.cwd(), 'test', 'reliability', 'matrix-backend.ts'), [name, mode], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<BackendReady>((resolve, reject) => {
    child.once('message', (m: BackendReady) => resolve(m));
    child.once('exit', (code) => reject(new Error(`backend ${name} exited with ${code} before it was ready`)));
  });
  return { child, ready };
}

function stopBackend(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.send({ type: 'close' });
  });
}

async function backendFor(name: BackendName, state: State): Promise<CellBackend> {
  const mode: FaultMode = state === 'failing' ? 'fail' : state === 'slow' ? 'slow' : state === 'blackhole' ? 'hang' : 'ok';
  const { child, ready } = await forkBackend(name, mode);
  let port = ready.port;
  let reset: Awaited<ReturnType<typeof resetter>> | undefined;
  if (state === 'dead') await stopBackend(child);
  if (state === 'reset') {
    await stopBackend(child);
    reset = await resetter();
    port = reset.port;
  }
  const base = `http://127.0.0.1:${port}`;
  const options: CellBackend['options'] = name === 'otlp' ? { otlp: { url: `${base}/v1/traces` } }
    : name === 'langfuse' ? { langfuse: { publicKey: ready.publicKey as string, secretKey: ready.secretKey as string, baseUrl: base } }
      : { sentry: { dsn: `http://${ready.publicKey as string}@127.0.0.1:${port}/${ready.projectId as string}` } };
  return {
    options: { ...options, failureLogIntervalMs: 3600000 },
    received: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return 0;
      return new Promise<number>((resolve) => {
        child.once('message', (m: { count: number }) => resolve(m.count));
        child.send({ type: 'count' });
      });
    },
    close: async () => {
      await stopBackend(child);
      await reset?.close();
    },
  };
}

interface LoadResult {
  sent: number;
  failed: number;
  boom: number;
  p99: number;
}

/** Open loop: `rate` requests a second for `seconds`, whatever the answers take (5 s timeout). */
async function steady(url: string, rate: number, seconds: number): Promise<LoadResult> {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let failed = 0;
  let boom = 0;
  const pending: Promise<void>[] = [];
  const total = Math.round(rate * seconds);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const expected = isBoom(i) ? 500 : 200;
    if (expected === 500) boom++;
    pending.push(new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request({ host: hostname, port, path: '/act', agent, timeout: 5000, headers: { 'x-action': String(i) } }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          if (res.statusCode !== expected) failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    }));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { sent: total, failed, boom, p99: percentile(latencies, 99) };
}

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

interface Cell {
  adapter: string;
  backend: BackendName;
  state: State;
  load: LoadResult;
  heapBefore: number;
  heapAfter: number;
  produced: number;
  received: number;
  dropped: number;
}

async function runCell(adapterName: string, backendName: BackendName, state: State): Promise<Cell> {
  const adapter = adapters.find((a) => a.name === adapterName);
  if (adapter === undefined) throw new Error(`unknown adapter ${adapterName}`);
  const backend = await backendFor(backendName, state);
  let app: FuzzApp | undefined;
  try {
    // The app's route: a step and an LLM call; every 10th request throws (its own 500).
    // The app's own registry: read after the close, once every export has ended (a drop is
    // counted when the export fails, which for a dead or slow backend is after the last request).
    const registry = new Registry();
    // Every trace exported (no tail sampling): the most the exporters ever carry. No tree
    // printer (on by default when Sentry is the only exporter).
    app = await adapter.start({ metrics: { defaultMetrics: false, registry }, sampling: false, tracing: { printTraces: false }, shutdownOnSignal: false, exporters: backend.options }, async (id) => {
      await step('retrieve', async () => [id]);
      await traceLLM({ model: 'matrix-model', provider: 'matrix' }, async () => ({ usage: { input_tokens: 20, output_tokens: 5 } }));
      if (isBoom(Number(id))) throw new Error(`matrix boom ${id}`);
      return { ok: true };
    });
    const warm = await steady(app.url, RATE, 1); // warm-up: JIT, sockets, label caches
    const heapBefore = heapMb();
    const load = await steady(app.url, RATE, DURATION_S);
    const heapAfter = heapMb();
    const running = app;
    app = undefined;
    // Bounded by shutdownTimeoutMs (5 s): a black-holed or slow backend cannot hold it longer.
    await running.close();
    const metrics = parseMetrics(await registry.metrics());
    const dropped = find(metrics, 'llmscope_telemetry_dropped_total', { exporter: backendName })[0]?.value ?? 0;
    // Warm-up included: its telemetry goes to the same backend.
    const answered = warm.sent - warm.failed + load.sent - load.failed;
    const produced = backendName === 'sentry' ? warm.boom + load.boom : answered * SPANS_PER_REQUEST;
    return { adapter: adapterName, backend: backendName, state, load, heapBefore, heapAfter, produced, received: await backend.received(), dropped };
  } finally {
    await app?.close();
    await backend.close();
  }
}

function row(cell: Cell, healthyP99: number | undefined): string {
  const ratio = healthyP99 === undefined || healthyP99 === 0 ? '' : ` (${((cell.load.p99 / healthyP99 - 1) * 100).toFixed(0)}%)`;
  return `| ${cell.adapter} | ${cell.backend} | ${cell.state} | ${cell.load.sent} | ${cell.load.failed} | ${cell.load.p99.toFixed(1)}${cell.state === 'healthy' ? '' : ratio} | ${cell.heapBefore.toFixed(1)} → ${cell.heapAfter.toFixed(1)} | ${cell.produced} | ${cell.received} | ${cell.dropped} |`;
}

/**
 * The exporters' packages, loaded by llmscope on first use (its `loadOptional`): loaded here
 * first, so that the heap column shows what the cells keep, not what a module costs once
 * (@sentry/node alone adds about 20 MB to the heap, @langfuse/otel about 4 MB).
 */
const EXPORTER_PACKAGES: Record<BackendName, string[]> = { otlp: [], langfuse: ['@langfuse/otel', '@langfuse/client'], sentry: ['@sentry/node'] };

async function main(): Promise<void> {
  const started = Date.now();
  const heapAtStart = heapMb();
  // require, as llmscope loads them: an import() would load their ES module builds, a second copy.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const b of BACKENDS) for (const name of EXPORTER_PACKAGES[b]) require(name);
  const heapLoaded = heapMb();
  process.stdout.write(`llmscope load-and-fault matrix: ${DURATION_S} s per cell at ${RATE} requests/s (every 10th an intended 500), adapters ${ADAPTERS.join(', ')}, backends ${BACKENDS.join(', ')}; Node ${process.versions.node}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}\n\n`);
  process.stdout.write('| adapter | backend | backend state | requests | failed | p99 ms (vs healthy) | heap MB before → after | telemetry produced | received | dropped (counted) |\n|---|---|---|---|---|---|---|---|---|---|\n');
  for (const adapter of ADAPTERS) {
    for (const backend of BACKENDS) {
      let healthy: number | undefined;
      for (const state of STATES) {
        const cell = await runCell(adapter, backend, state);
        if (state === 'healthy') healthy = cell.load.p99;
        process.stdout.write(`${row(cell, healthy)}\n`);
      }
    }
  }
  process.stdout.write(`\nHeap after GC: ${heapAtStart.toFixed(1)} MB at start, ${heapLoaded.toFixed(1)} MB with the exporters' packages loaded, ${heapMb().toFixed(1)} MB after the last cell's close.\n`);
  process.stdout.write(`${((Date.now() - started) / 1000).toFixed(0)} s in all.\n`);
}

main().then(() => process.exit(0), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
