/**
 * The bench's load generators. `busy` (the default): `loadgen/busy-client.cc`, a small HTTP/1.1
 * keep-alive client that polls its sockets and never sleeps, built with g++ on first use.
 * `autocannon`: the Node load generator the bench used until 2026-12-01, which blocks in epoll
 * between responses. Why the default changed (docs/performance.md, "The load generator's
 * wakeups"): on these VMs a response that finds autocannon asleep must wake its vCPU with an
 * inter-processor interrupt, a hypervisor call charged to the server's `writev`, and the slower
 * the server the more often autocannon is asleep (0.06 IPIs a request for bare Fastify, 0.4 with
 * a 3 µs spin): the server was charged about twice whatever it added.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cliArg } from './each-server';

/** Which load generator drives the servers: `--client busy|autocannon` or `BENCH_CLIENT`. */
export type Client = 'busy' | 'autocannon';

/** The load generator chosen on the command line or in the environment (default `busy`). */
export function benchClient(): Client {
  const value = cliArg('--client') ?? process.env.BENCH_CLIENT ?? 'busy';
  if (value !== 'busy' && value !== 'autocannon') throw new Error(`--client ${value}: use busy (the default) or autocannon`);
  return value;
}

const SOURCE = join(__dirname, '..', 'loadgen', 'busy-client.cc');
const BINARY = join(__dirname, '..', 'build', 'busy-client');

/** The busy client's binary, compiled from its source when missing or older than it. */
export function busyClientBinary(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(join(BINARY, '..'), { recursive: true });
  try {
    execFileSync('g++', ['-O2', '-std=c++17', '-Wall', '-Wextra', '-o', BINARY, SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    throw new Error(`cannot build the bench's load generator (${SOURCE}) with g++: ${(error as Error).message}. Install g++ (apt-get install g++) or run with --client autocannon.`);
  }
  return BINARY;
}

/** What one window of the busy client saw (latencies in ms, as autocannon reports them). */
export interface BusyResult { requests: number; non2xx: number; errors: number; seconds: number; p50: number; p99: number }

/**
 * Runs the busy client against 127.0.0.1:`port` for `seconds` on core 0 (via taskset where it
 * exists, at idle priority: the servers run on core 1), `connections` keep-alive connections, `GET path` with the given header lines.
 */
export function runBusyClient(port: number, connections: number, seconds: number, path: string, headers: string[]): Promise<BusyResult> {
  const binary = busyClientBinary();
  const args = [String(port), String(connections), String(seconds), path, ...headers];
  // SCHED_IDLE (chrt -i 0): the client takes core 0 only when nothing else wants it, so the OTLP
  // sink in this process answers the servers' exports at once instead of waiting for a time slice
  // (a sink slower than the span rate fills the server's queue and drops spans).
  const pinned = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0'] : [];
  const idle = existsSync('/usr/bin/chrt') ? ['/usr/bin/chrt', '-i', '0'] : [];
  const [cmd, ...argv] = [...pinned, ...idle, binary, ...args] as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`busy-client exited with ${code} (port ${port})`));
      else resolve(JSON.parse(out) as BusyResult);
    });
  });
}
