/**
 * The server side of a benchmark process: announces its port to the orchestrator over IPC
 * and answers CPU / memory samples, so that CPU time per request is measured inside the server.
 */
import { writeFileSync } from 'node:fs';
import { Server } from 'node:http';
import { Session } from 'node:inspector';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { createHook } from 'node:async_hooks';
import { drive } from './drive';

export interface ServerMessage {
  type: 'ready' | 'sample' | 'drive';
  port?: number;
  cpu?: NodeJS.CpuUsage;
  memory?: NodeJS.MemoryUsage;
  /** `drive`: CPU µs per request of each measured round, and the statuses answered. */
  microsPerRequest?: number[];
  /** `drive`: bytes allocated on the JS heap per request, each measured round. */
  bytesPerRequest?: number[];
  /** `drive` with BENCH_COUNT_PROMISES set: promises made per request (an extra round, counted by an async hook). */
  promisesPerRequest?: number;
  statuses?: Record<number, number>;
}

export type OrchestratorMessage = { type: 'sample'; gc?: boolean } | { type: 'exit' } | { type: 'profile-start'; intervalMicros: number; heap?: boolean } | { type: 'profile-stop'; file: string }
  | { type: 'drive'; path: string; warmup: number; requests: number; rounds: number };

/**
 * With BENCH_DRIVE set (`micro-app.ts`), the last HTTP server this process listens with is kept,
 * so that its request handler can be driven in process (`drive.ts`).
 */
let listened: Server | undefined;
if (process.env.BENCH_DRIVE !== undefined) {
  const listen = Server.prototype.listen;
  Server.prototype.listen = function benchListen(this: Server, ...args: unknown[]) {
    listened = this;
    return (listen as (...a: unknown[]) => Server).apply(this, args);
  } as typeof listen;
}

async function driveRounds(m: Extract<OrchestratorMessage, { type: 'drive' }>): Promise<void> {
  if (listened === undefined) throw new Error('BENCH_DRIVE: the server never listened');
  await drive(listened, m.path, m.warmup);
  const microsPerRequest: number[] = [];
  const bytesPerRequest: number[] = [];
  const statuses: Record<number, number> = {};
  for (let r = 0; r < m.rounds; r++) {
    const gcs = new GCProfiler();
    const heapBefore = getHeapStatistics().used_heap_size;
    gcs.start();
    const before = process.cpuUsage();
    const seen = await drive(listened, m.path, m.requests);
    const cpu = process.cpuUsage(before);
    const heapAfter = getHeapStatistics().used_heap_size;
    microsPerRequest.push((cpu.user + cpu.system) / m.requests);
    bytesPerRequest.push(allocatedBetween(heapBefore, gcs.stop().statistics, heapAfter) / m.requests);
    for (const [status, n] of seen) statuses[status] = (statuses[status] ?? 0) + n;
  }
  const promisesPerRequest = process.env.BENCH_COUNT_PROMISES === undefined ? undefined : await countPromises(listened, m.path, m.requests);
  process.send?.({ type: 'drive', microsPerRequest, bytesPerRequest, promisesPerRequest, statuses } satisfies ServerMessage);
}

/** Promises made per request over `requests` more requests (the hook is on for them only: it costs every promise). */
async function countPromises(server: Server, path: string, requests: number): Promise<number> {
  let promises = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') promises++;
    },
  }).enable();
  await drive(server, path, requests);
  hook.disable();
  return promises / requests;
}

/** One collection as `GCProfiler` reports it: the heap in use before and after. */
interface GcRecord {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/**
 * Bytes allocated on the JS heap between two readings of the heap in use, with the collections
 * in between: what the heap grew by between collections, summed. (V8 keeps no allocation counter
 * that Node exposes; this one measures within a few hundred bytes a collection.)
 */
function allocatedBetween(before: number, collections: readonly GcRecord[], after: number): number {
  let allocated = 0;
  let from = before;
  for (const gc of collections) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - from;
    from = gc.afterGC.heapStatistics.usedHeapSize;
  }
  return allocated + after - from;
}

/**
 * The CPU profiler of `node --cpu-prof`, driven over IPC through the inspector so that a profile
 * covers the measured window only, not start-up and module loading (bench/src/profile.ts).
 */
let session: Session | undefined;

/** `heap`: V8's sampling heap profiler instead, every allocation counted (collected ones too), one sample per ~256 bytes. */
let heapProfiling = false;

function profile(m: OrchestratorMessage): void {
  if (m.type === 'profile-start' && m.heap === true) {
    heapProfiling = true;
    session = new Session();
    session.connect();
    session.post('HeapProfiler.enable', () => session?.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, () => {
      process.send?.({ type: 'sample' } satisfies ServerMessage);
    }));
  } else if (m.type === 'profile-stop' && heapProfiling) {
    heapProfiling = false;
    session?.post('HeapProfiler.stopSampling', (error, result) => {
      if (error === null) writeFileSync(m.file, JSON.stringify(result.profile));
      session?.disconnect();
      process.send?.({ type: 'sample' } satisfies ServerMessage);
    });
  } else if (m.type === 'profile-start') {
    session = new Session();
    session.connect();
    session.post('Profiler.enable', () => session?.post('Profiler.setSamplingInterval', { interval: m.intervalMicros }, () => session?.post('Profiler.start', () => {
      process.send?.({ type: 'sample' } satisfies ServerMessage);
    })));
  } else if (m.type === 'profile-stop') {
    session?.post('Profiler.stop', (error, result) => {
      if (error === null) writeFileSync(m.file, JSON.stringify(result.profile));
      session?.disconnect();
      process.send?.({ type: 'sample' } satisfies ServerMessage);
    });
  }
}

export function serve(listen: () => Promise<number>): void {
  listen().then((port) => {
    process.send?.({ type: 'ready', port } satisfies ServerMessage);
  }, (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
  process.on('message', (m: OrchestratorMessage) => {
    if (m.type === 'exit') process.exit(0);
    if (m.type === 'profile-start' || m.type === 'profile-stop') profile(m);
    if (m.type === 'drive') void driveRounds(m);
    if (m.type === 'sample') {
      if (m.gc && typeof global.gc === 'function') global.gc();
      process.send?.({ type: 'sample', cpu: process.cpuUsage(), memory: process.memoryUsage() } satisfies ServerMessage);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** The variant this process runs, from the environment. */
export function variant(): string {
  return process.env.BENCH_VARIANT ?? 'bare';
}

/** Where "full" configurations export their spans (a local OTLP sink, or a dead port for the soak). */
export function otlpUrl(): string {
  return process.env.BENCH_OTLP_URL ?? 'http://127.0.0.1:1/v1/traces';
}

const SPIN_MS = Number(process.env.BENCH_SPIN_US ?? 5) / 1000;

/**
 * Control rows (configs.ts `spinMicros`): `BENCH_SPIN_US` µs of pure user-mode work, a loop on the
 * clock with no allocation and no syscall, what a known amount of added work costs in the bench.
 */
export function spin(): void {
  const end = performance.now() + SPIN_MS;
  while (performance.now() < end);
}
