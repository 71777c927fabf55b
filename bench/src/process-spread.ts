/**
 * `npx tsx src/process-spread.ts [--only <text>] [--copies 5] [--passes 8] [--slice 0.5] [--seeds 1,2,3]`:
 * how much a configuration's CPU a request differs between processes of the same code. Starts
 * `--copies` processes of each chosen configuration (default: bare Fastify and Fastify + llmscope
 * metrics) at once, warms each, then loads them in turn for `--slice` seconds, `--passes` times
 * (every other pass backwards), and prints each process's median over its slices, then each
 * configuration's spread over its processes. A slow spell of the machine shows as a column of
 * high readings across every process; a process that reads high in every column is that process.
 * `--seeds`: one process per seed, each with `--hash-seed=<seed>` (V8's seed of its string
 * hashes, random per process by default), to tell the seed's share of the spread.
 */
import { CONFIGS, serverEnv } from './configs';
import { loadServer } from './measure';
import { pinSelf, ServerProcess } from './process';
import { chosenByOnly, cliArg, runMain } from './each-server';
import { sliceOrder } from './interleave';
import { startSink } from './sink';
import { median, round } from './stats';

const DEFAULTS = ['fastify bare', 'fastify + llmscope metrics'];

async function main(): Promise<void> {
  pinSelf(0);
  const sink = await startSink();
  const seeds = cliArg('--seeds')?.split(',');
  const copies = seeds?.length ?? Number(cliArg('--copies') ?? 5);
  const passes = Number(cliArg('--passes') ?? 8);
  const slice = Number(cliArg('--slice') ?? 0.5);
  const configs = CONFIGS.filter((c) => chosenByOnly(c.name) ?? DEFAULTS.includes(c.name));
  const servers: { config: string; label: string; server: ServerProcess; micros: number[] }[] = [];
  try {
    for (let k = 0; k < copies; k++) {
      for (const c of configs) {
        const flags = seeds === undefined ? [] : [`--hash-seed=${seeds[k] as string}`];
        const server = await ServerProcess.start(c.script, c.variant, serverEnv(c, sink.url), 1, flags);
        servers.push({ config: c.name, label: seeds === undefined ? `#${k + 1}` : `seed ${seeds[k] as string}`, server, micros: [] });
      }
    }
    for (const s of servers) await loadServer(s.server, 2);
    for (const i of sliceOrder(servers.length, passes)) {
      const s = servers[i] as (typeof servers)[number];
      const before = (await s.server.sample()).cpu!;
      const load = await loadServer(s.server, slice);
      const after = (await s.server.sample()).cpu!;
      s.micros.push((after.user + after.system - before.user - before.system) / Math.max(1, load.requests));
    }
    for (const c of configs) {
      process.stdout.write(`\n${c.name}: CPU µs a request, each process's median over its slices | its slices in order\n`);
      const mine = servers.filter((s) => s.config === c.name);
      for (const s of mine) process.stdout.write(`  ${s.label.padEnd(9)} ${String(round(median(s.micros), 1)).padStart(6)} | ${s.micros.map((m) => round(m, 1)).join(' ')}\n`);
      const medians = mine.map((s) => median(s.micros));
      process.stdout.write(`  over ${mine.length} processes: min ${round(Math.min(...medians), 1)}, median ${round(median(medians), 1)}, max ${round(Math.max(...medians), 1)}\n`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.server.stop()));
    sink.server.close();
  }
  process.exit(0);
}

runMain(main);
