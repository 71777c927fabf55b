/**
 * `npx tsx src/wakeup.ts [--rate N] [--seconds S]`: diagnostics for the bench's method. Runs bare
 * Fastify, Fastify with a fixed amount of pure user-mode work per request (a spin loop, no
 * allocation, no syscall) and Fastify + llmscope, under the bench's saturating load and at a fixed
 * request rate, and prints CPU per request split into user and system time. If the spin rows cost
 * more than bare + the spin, the difference is not the added work's own.
 */
import autocannon from 'autocannon';
import { pinSelf, ServerProcess } from './process';
import { startSink } from './sink';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rate = Number(arg('--rate') ?? 10000);
const seconds = Number(arg('--seconds') ?? 6);
const rounds = Number(arg('--rounds') ?? 2);

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
    const opts = { url: `http://127.0.0.1:${server.port}/users/42`, connections: 10, headers: { 'x-user-id': 'bench-user' } };
    await autocannon({ ...opts, duration: 2, ...(overallRate === undefined ? {} : { overallRate }) });
    const before = await server.sample();
    const result = await autocannon({ ...opts, duration: seconds, ...(overallRate === undefined ? {} : { overallRate }) });
    const after = await server.sample();
    const n = Math.max(1, result.requests.total);
    const user = (after.cpu!.user - before.cpu!.user) / n;
    const system = (after.cpu!.system - before.cpu!.system) / n;
    return `${Math.round(result.requests.average)} req/s, CPU ${(user + system).toFixed(1)} µs/req (user ${user.toFixed(1)}, system ${system.toFixed(1)})`;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  pinSelf(0);
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
