/**
 * `npx tsx src/wakeup.ts [--seconds S] [--rounds R] [--rate N]`: diagnostics for the bench's
 * method. Runs bare Fastify, Fastify with a fixed amount of pure user-mode work per request (a
 * spin loop: no allocation, no syscall) and Fastify + llmscope, driven by each load generator
 * (autocannon, which sleeps in epoll between responses; the busy-polling client, which never
 * sleeps; with `--rate N` also autocannon at a fixed N req/s), and prints the server's CPU per
 * request split into user and system time and, where `perf` can read kernel tracepoints (root),
 * the inter-processor interrupts the server sent per request (`ipi:ipi_send_cpu`: each one a
 * wakeup of the load generator's idle vCPU, a hypervisor call on these VMs). If a spin row costs
 * more than bare + the spin, the difference is not the added work's own.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Client } from './client';
import { cliArg } from './each-server';
import { loadServer } from './measure';
import { pinSelf, ServerProcess } from './process';
import { startSink } from './sink';

const rate = cliArg('--rate') === undefined ? undefined : Number(cliArg('--rate'));
const seconds = Number(cliArg('--seconds') ?? 5);
const rounds = Number(cliArg('--rounds') ?? 2);
// `--client-core 1` puts autocannon on the server's core: wakeups stay on one CPU (no cross-CPU
// wakeup), at the price of the two sharing it. The busy client always runs on core 0 (polling on
// the server's core would take it from the server).
const clientCore = Number(cliArg('--client-core') ?? 0);
const PERF = existsSync('/usr/bin/perf') && process.getuid?.() === 0 ? '/usr/bin/perf' : undefined;

const ROWS: Array<{ name: string; variant: string; env?: Record<string, string> }> = [
  { name: 'bare', variant: 'bare' },
  { name: 'spin 3 µs', variant: 'spin', env: { BENCH_SPIN_US: '3' } },
  { name: 'spin 8 µs', variant: 'spin', env: { BENCH_SPIN_US: '8' } },
  { name: 'llmscope metrics', variant: 'llmscope-metrics' },
  { name: 'llmscope defaults', variant: 'llmscope-defaults' },
];

/** IPIs sent by `pid` over the next `s` seconds, or undefined without perf. */
function countIpis(pid: number, s: number): Promise<number | undefined> {
  if (PERF === undefined) return Promise.resolve(undefined);
  const p = spawn(PERF, ['stat', '-x', ',', '-e', 'ipi:ipi_send_cpu', '-p', String(pid), '--', 'sleep', String(s)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  return new Promise((resolve) => p.once('exit', () => {
    const line = err.split('\n').find((l) => l.includes('ipi_send_cpu'));
    const n = line === undefined ? NaN : Number(line.split(',')[0]);
    resolve(Number.isFinite(n) ? n : undefined);
  }));
}

async function run(variant: string, env: Record<string, string>, client: Client, overallRate: number | undefined): Promise<string> {
  const server = await ServerProcess.start('servers/fastify.ts', variant, env, 1);
  try {
    await loadServer(server, 2, overallRate, client);
    const ipis = countIpis(server.child.pid as number, seconds);
    const before = await server.sample();
    const r = await loadServer(server, seconds, overallRate, client);
    const after = await server.sample();
    const user = (after.cpu!.user - before.cpu!.user) / r.requests;
    const system = (after.cpu!.system - before.cpu!.system) / r.requests;
    const sent = await ipis;
    const ipi = sent === undefined ? '' : `, ${(sent / r.requests).toFixed(3)} IPIs sent a request`;
    return `${Math.round(r.rps)} req/s, CPU ${(user + system).toFixed(1)} µs/req (user ${user.toFixed(1)}, system ${system.toFixed(1)})${ipi}`;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  pinSelf(clientCore);
  const sink = await startSink();
  const modes: Array<{ label: string; client: Client; rate?: number }> = [{ label: 'autocannon', client: 'autocannon' }, { label: 'busy client', client: 'busy' }];
  if (rate !== undefined) modes.push({ label: `autocannon ${rate} req/s`, client: 'autocannon', rate });
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      for (const row of ROWS) {
        const line = await run(row.variant, { BENCH_OTLP_URL: sink.url, ...(row.env ?? {}) }, mode.client, mode.rate);
        process.stdout.write(`round ${r + 1} ${mode.label.padEnd(22)} ${row.name.padEnd(18)} ${line}\n`);
      }
    }
  }
  sink.server.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
