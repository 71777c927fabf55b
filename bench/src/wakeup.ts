/**
 * `npx tsx src/wakeup.ts [--rate N] [--seconds S]`: diagnostics for the bench's method. Runs bare
 * Fastify, Fastify with a fixed amount of pure user-mode work per request (a spin loop, no
 * allocation, no syscall) and Fastify + llmscope, under the bench's saturating load and at a fixed
 * request rate, and prints CPU per request split into user and system time. If the spin rows cost
 * more than bare + the spin, the difference is not the added work's own.
 */
import { cliArg } from './each-server';
import { measureServer } from './measure';
import { pinSelf, ServerProcess } from './process';
import { startSink } from './sink';

const rate = Number(cliArg('--rate') ?? 10000);
const seconds = Number(cliArg('--seconds') ?? 6);
const rounds = Number(cliArg('--rounds') ?? 2);
// `--client-core 1` puts the load generator on the server's core: wakeups stay on one CPU (no
// cross-CPU wakeup), at the price of the two sharing it.
const clientCore = Number(cliArg('--client-core') ?? 0);

const ROWS: Array<{ name: string; variant: string; env?: Record<string, string> }> = [
  { name: 'bare', variant: 'bare' },
  { name: 'spin 3 µs', variant: 'spin', env: { BENCH_SPIN_US: '3' } },
  { name: 'spin 8 µs', variant: 'spin', env: { BENCH_SPIN_US: '8' } },
  { name: 'llmscope metrics', variant: 'llmscope-metrics' },
  { name: 'llmscope defaults', variant: 'llmscope-defaults' },
];

async function run(variant: string, env: Record<string, string>, overallRate: number | undefined): Promise<string> {
  const server = await ServerProcess.start('servers/fastify.ts', variant, env, 1);
  try {
    const m = await measureServer(server, { warmupSeconds: 2, seconds, overallRate });
    return `${Math.round(m.rps)} req/s, CPU ${m.cpuMicros.toFixed(1)} µs/req (user ${m.userMicros.toFixed(1)}, system ${m.systemMicros.toFixed(1)})`;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  pinSelf(clientCore);
  const sink = await startSink();
  for (let r = 0; r < rounds; r++) {
    for (const mode of [undefined, rate]) {
      for (const row of ROWS) {
        const line = await run(row.variant, { BENCH_OTLP_URL: sink.url, ...(row.env ?? {}) }, mode);
        process.stdout.write(`round ${r + 1} ${mode === undefined ? 'saturating' : `${mode} req/s`}  ${row.name.padEnd(18)} ${line}\n`);
      }
    }
  }
  sink.server.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
