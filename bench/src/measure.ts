import autocannon from 'autocannon';
import type { ServerProcess } from './process';

/** One measured window of one server: throughput, latency and the server's CPU per request. */
export interface Measurement { rps: number; p50: number; p99: number; cpuMicros: number; userMicros: number; systemMicros: number; errors: number }

/** Connections autocannon keeps open to the server. */
export const CONNECTIONS = 10;

/** How a server is loaded: autocannon, {@link CONNECTIONS} connections, `GET /users/42` (as a known user). */
export interface LoadOptions {
  warmupSeconds: number;
  seconds: number;
  /** Requests per second over all connections; undefined: as fast as the server answers. */
  overallRate?: number;
}

/** The bench's load on `server` for `seconds`: `GET /users/42` as a known user, {@link CONNECTIONS} connections. */
export function loadServer(server: ServerProcess, seconds: number, overallRate?: number): ReturnType<typeof autocannon> {
  return autocannon({
    url: `http://127.0.0.1:${server.port}/users/42`, connections: CONNECTIONS, duration: seconds, headers: { 'x-user-id': 'bench-user' },
    ...(overallRate === undefined ? {} : { overallRate }),
  });
}

/** Warms `server` up, then loads it for the measured window and reads its CPU time around it. */
export async function measureServer(server: ServerProcess, options: LoadOptions): Promise<Measurement> {
  const load = (duration: number) => loadServer(server, duration, options.overallRate);
  await load(options.warmupSeconds);
  const before = await server.sample();
  const result = await load(options.seconds);
  const after = await server.sample();
  const user = after.cpu!.user - before.cpu!.user;
  const system = after.cpu!.system - before.cpu!.system;
  const requests = Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicros: (user + system) / requests,
    userMicros: user / requests,
    systemMicros: system / requests,
    errors: result.errors + result.non2xx,
  };
}
