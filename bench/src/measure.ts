import autocannon from 'autocannon';
import { benchClient, runBusyClient, type Client } from './client';
import type { ServerProcess } from './process';

/** One measured window of one server: throughput, latency and the server's CPU per request. */
export interface Measurement {
  rps: number; p50: number; p99: number; cpuMicros: number; userMicros: number; systemMicros: number; errors: number;
  /** Alternating slices only: the CPU µs a request within the server's own slices (what it did while idle left out). */
  inSliceMicros?: number;
}

/** Connections the load generator keeps open to the server. */
export const CONNECTIONS = 10;

/** The request every configuration answers: `GET /users/42` as a known user. */
const PATH = '/users/42';
const HEADERS = { 'x-user-id': 'bench-user' };

/** How a server is loaded: {@link CONNECTIONS} connections, `GET /users/42` (as a known user). */
export interface LoadOptions {
  warmupSeconds: number;
  seconds: number;
  /** Requests per second over all connections (autocannon); undefined: as fast as the server answers. */
  overallRate?: number;
  /** The load generator; default {@link benchClient} (`--client`, `BENCH_CLIENT`, else `busy`). */
  client?: Client;
}

/** What one load window saw. */
export interface LoadResult { requests: number; rps: number; p50: number; p99: number; errors: number }

/**
 * The bench's load on `server` for `seconds`. A fixed `overallRate` needs autocannon (the busy
 * client answers as fast as the server does); otherwise `client`, by default {@link benchClient}.
 */
export async function loadServer(server: ServerProcess, seconds: number, overallRate?: number, client: Client = benchClient()): Promise<LoadResult> {
  if (client === 'busy' && overallRate === undefined) {
    const r = await runBusyClient(server.port, CONNECTIONS, seconds, PATH, Object.entries(HEADERS).map(([k, v]) => `${k}: ${v}`));
    return { requests: r.requests, rps: r.requests / r.seconds, p50: r.p50, p99: r.p99, errors: r.errors + r.non2xx };
  }
  const r = await autocannon({
    url: `http://127.0.0.1:${server.port}${PATH}`, connections: CONNECTIONS, duration: seconds, headers: HEADERS,
    ...(overallRate === undefined ? {} : { overallRate }),
  });
  return { requests: r.requests.total, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Warms `server` up, then loads it for the measured window and reads its CPU time around it. */
export async function measureServer(server: ServerProcess, options: LoadOptions): Promise<Measurement> {
  const load = (duration: number) => loadServer(server, duration, options.overallRate, options.client);
  await load(options.warmupSeconds);
  const before = await server.sample();
  const result = await load(options.seconds);
  const after = await server.sample();
  const user = after.cpu!.user - before.cpu!.user;
  const system = after.cpu!.system - before.cpu!.system;
  const requests = Math.max(1, result.requests);
  return {
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    cpuMicros: (user + system) / requests,
    userMicros: user / requests,
    systemMicros: system / requests,
    errors: result.errors,
  };
}
