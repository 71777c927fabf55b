/**
 * A block's configurations measured in alternating slices (`npm run bench -- --interleave`, since
 * 2026-12-02): every server of the block is started and warmed, then loaded one after the other
 * for half a second at a time, pass after pass, so that the two readings of a ratio (bare and
 * instrumented) are spread over the same minutes and a slow spell of the shared machine falls on
 * every configuration alike. Tried as the default and not kept: a server loaded among nine idle
 * others read llmscope's Fastify rows ~0.05-0.1 lower than alone, its controls not, and the
 * readings still moved between rounds (docs/performance.md, "Alternating slices").
 */
import type { Client } from './client';
import { loadServer, type LoadResult, type Measurement } from './measure';
import type { ServerProcess } from './process';
import { median } from './stats';

/** How a block is loaded. */
export interface SliceOptions {
  /** Each server's warm-up before the first slice, seconds (one after the other). */
  warmupSeconds: number;
  /** Passes over the block; each server gets one slice a pass. */
  passes: number;
  /** One slice, seconds. */
  sliceSeconds: number;
  /**
   * Idle time before the first and after the last reading of the servers' CPU, seconds: work a
   * server defers (a span batch sent on its timer, 1 s in llmscope, 5 s in OpenTelemetry's batch
   * processor) falls inside its measured window, as it does between its slices.
   */
  settleSeconds: number;
  client?: Client;
}

/**
 * The order of the slices: pass `p` starts with server `p mod n` and goes round, every other pass
 * backwards, so that no server always follows the same one (a server's first requests after
 * idling run on caches the previous one evicted) or always comes first.
 */
export function sliceOrder(servers: number, passes: number): number[] {
  const order: number[] = [];
  for (let p = 0; p < passes; p++) {
    const pass: number[] = [];
    for (let j = 0; j < servers; j++) pass.push((j + p) % servers);
    order.push(...(p % 2 === 0 ? pass : pass.reverse()));
  }
  return order;
}

/** One server's slices and its CPU time (µs, user and system) from before the first to after the last. */
export interface SliceTotals {
  slices: LoadResult[];
  /** Each slice's length as the load generator measured it, seconds. */
  seconds: number[];
  user: number;
  system: number;
  /** CPU time within the slices only (µs): the rest of `user + system` is what the server did while the others were loaded. */
  inSlice: number;
}

/**
 * One reading of a server from its slices: CPU per request over all its requests (from the start
 * of its first slice to after its last, so the CPU of its idle time is in: work it deferred, a
 * span batch sent on its timer), req/s over the time it was loaded, latencies as the median of
 * its slices' (a slice's p99 is over ~5,000-20,000 requests).
 */
export function combineSlices(t: SliceTotals): Measurement {
  const requests = Math.max(1, t.slices.reduce((n, s) => n + s.requests, 0));
  const seconds = t.seconds.reduce((n, s) => n + s, 0);
  return {
    rps: seconds > 0 ? requests / seconds : 0,
    p50: median(t.slices.map((s) => s.p50)),
    p99: median(t.slices.map((s) => s.p99)),
    cpuMicros: (t.user + t.system) / requests,
    userMicros: t.user / requests,
    systemMicros: t.system / requests,
    errors: t.slices.reduce((n, s) => n + s.errors, 0),
    inSliceMicros: t.inSlice / requests,
  };
}

const sleep = (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/**
 * Measures the already started `servers` of one block in alternating slices; one reading each,
 * in the order given.
 */
export async function measureInterleaved(servers: readonly ServerProcess[], options: SliceOptions): Promise<Measurement[]> {
  for (const server of servers) await loadServer(server, options.warmupSeconds, undefined, options.client);
  await sleep(options.settleSeconds);
  const before: NodeJS.CpuUsage[] = [];
  for (const server of servers) before.push((await server.sample()).cpu!);
  const totals: SliceTotals[] = servers.map(() => ({ slices: [], seconds: [], user: 0, system: 0, inSlice: 0 }));
  for (const i of sliceOrder(servers.length, options.passes)) {
    const server = servers[i] as ServerProcess;
    const from = (await server.sample()).cpu!;
    const result = await loadServer(server, options.sliceSeconds, undefined, options.client);
    const to = (await server.sample()).cpu!;
    const t = totals[i] as SliceTotals;
    t.inSlice += to.user + to.system - from.user - from.system;
    t.slices.push(result);
    t.seconds.push(result.rps > 0 ? result.requests / result.rps : options.sliceSeconds);
  }
  await sleep(options.settleSeconds);
  for (let i = 0; i < servers.length; i++) {
    const after = (await (servers[i] as ServerProcess).sample()).cpu!;
    const t = totals[i] as SliceTotals;
    t.user = after.user - (before[i] as NodeJS.CpuUsage).user;
    t.system = after.system - (before[i] as NodeJS.CpuUsage).system;
  }
  return totals.map(combineSlices);
}
