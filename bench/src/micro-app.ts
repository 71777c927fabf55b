/**
 * `npx tsx src/micro-app.ts [--only <text>] [--rounds 3] [--requests 20000] [--profile]`: the bench's servers
 * (the same apps and llmscope options as `run.ts`), each driven in its own process through its
 * own request handler, without sockets (`drive.ts`): CPU µs a request of the framework and
 * llmscope alone, without the HTTP parser, the syscalls and the load generator, whose noise
 * (±5 µs a request between runs on the NestJS rows) hides differences of a microsecond.
 *
 * Each pass starts every configuration once (pinned to core 1, the OTLP sink on core 0); a
 * configuration's figure is the median of its five measured rounds of `--requests` requests
 * after as many for warm-up, and the table gives the median over passes and µs over the bare
 * server of its framework. Default: the app-prototype Express and NestJS rows and the Fastify
 * rows, llmscope's and the `AsyncLocalStorage.run` controls.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { baselineOf, CONFIGS, type BenchConfig } from './configs';
import { cliArg, eachServer, runMain } from './each-server';
import { median, round } from './stats';

const passes = Number(cliArg('--rounds') ?? 3);
const requests = Number(cliArg('--requests') ?? 20000);
/** `--profile`: a CPU profile of each configuration's drive (warm-up included), in results/profiles/in-process-*.cpuprofile. */
const profiling = process.argv.includes('--profile');
const PROFILES = join(__dirname, '..', 'results', 'profiles');
const DEFAULT = CONFIGS.filter((c) => (c.appPrototypes === true || c.framework === 'fastify') && (c.bare === true || c.name.includes('llmscope metrics') || c.name.includes('llmscope defaults') || c.name.includes('AsyncLocalStorage.run')) && !c.name.includes('console')).map((c) => c.name);

// The servers keep the HTTP server they listen with, to be driven (harness.ts).
process.env.BENCH_DRIVE = '1';

runMain(async () => {
  const figures = new Map<string, number[]>();
  const configs = new Map<string, BenchConfig>();
  for (let pass = 1; pass <= passes; pass++) {
    await eachServer(DEFAULT, async (config, server) => {
      if (profiling) {
        mkdirSync(PROFILES, { recursive: true });
        await server.profiler({ type: 'profile-start', intervalMicros: 100 });
      }
      const reply = await server.drive({ type: 'drive', path: '/users/42', warmup: 2 * requests, requests, rounds: 5 });
      if (profiling) await server.profiler({ type: 'profile-stop', file: join(PROFILES, `in-process-${config.name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`) });
      const statuses = reply.statuses ?? {};
      if (Object.keys(statuses).some((s) => s !== '200')) throw new Error(`${config.name}: statuses ${JSON.stringify(statuses)}`);
      const micros = median(reply.microsPerRequest ?? []);
      configs.set(config.name, config);
      figures.set(config.name, [...(figures.get(config.name) ?? []), micros]);
      process.stdout.write(`pass ${pass}/${passes}  ${config.name.padEnd(70)} ${micros.toFixed(2)} µs/req (rounds ${(reply.microsPerRequest ?? []).map((x) => x.toFixed(2)).join(', ')})\n`);
    });
  }
  const lines = ['', `In process (${requests} requests a round, 5 rounds, ${passes} passes; Node ${process.versions.node}): CPU µs a request, median over passes`, '', '| configuration | µs/req | over bare | each pass |', '|---|---:|---:|---|'];
  for (const [name, values] of figures) {
    const base = baselineOf(configs.get(name) as BenchConfig);
    const bare = base === undefined ? undefined : figures.get(base.name);
    const over = bare === undefined || base?.name === name ? '' : `+${round(median(values) - median(bare), 2)}`;
    lines.push(`| ${name} | ${round(median(values), 2)} | ${over} | ${values.map((v) => v.toFixed(2)).join(', ')} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
});
