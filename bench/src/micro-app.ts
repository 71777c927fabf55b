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
 * rows, llmscope's and the `AsyncLocalStorage.run` controls. Each row also gives the bytes a
 * request allocates on the JS heap (deterministic to a few bytes, unlike time); with
 * BENCH_COUNT_PROMISES=1, the promises a request makes (counted in an extra round).
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
/** `--heap-profile`: an allocation profile of each configuration's drive instead (every allocation, collected ones too), in results/profiles/in-process-*.heapprofile (`src/heap-summary.ts` reads them). */
const heapProfiling = process.argv.includes('--heap-profile');
const PROFILES = join(__dirname, '..', 'results', 'profiles');
const DEFAULT = CONFIGS.filter((c) => (c.appPrototypes === true || c.framework === 'fastify') && (c.bare === true || c.name.includes('llmscope metrics') || c.name.includes('llmscope defaults') || c.name.includes('AsyncLocalStorage.run')) && !c.name.includes('console')).map((c) => c.name);

// The servers keep the HTTP server they listen with, to be driven (harness.ts).
process.env.BENCH_DRIVE = '1';

runMain(async () => {
  const figures = new Map<string, number[]>();
  const bytes = new Map<string, number[]>();
  const configs = new Map<string, BenchConfig>();
  for (let pass = 1; pass <= passes; pass++) {
    await eachServer(DEFAULT, async (config, server) => {
      if (profiling || heapProfiling) {
        mkdirSync(PROFILES, { recursive: true });
        await server.profiler({ type: 'profile-start', intervalMicros: 100, heap: heapProfiling });
      }
      const reply = await server.drive({ type: 'drive', path: '/users/42', warmup: 2 * requests, requests, rounds: 5 });
      if (profiling || heapProfiling) await server.profiler({ type: 'profile-stop', file: join(PROFILES, `in-process-${config.name.replace(/[^a-z0-9]+/gi, '-')}.${heapProfiling ? 'heapprofile' : 'cpuprofile'}`) });
      const statuses = reply.statuses ?? {};
      if (Object.keys(statuses).some((s) => s !== '200')) throw new Error(`${config.name}: statuses ${JSON.stringify(statuses)}`);
      const micros = median(reply.microsPerRequest ?? []);
      configs.set(config.name, config);
      const allocated = median(reply.bytesPerRequest ?? []);
      figures.set(config.name, [...(figures.get(config.name) ?? []), micros]);
      bytes.set(config.name, [...(bytes.get(config.name) ?? []), allocated]);
      const promises = reply.promisesPerRequest === undefined ? '' : `, ${reply.promisesPerRequest.toFixed(1)} promises/req`;
      process.stdout.write(`pass ${pass}/${passes}  ${config.name.padEnd(70)} ${micros.toFixed(2)} µs/req, ${Math.round(allocated)} B/req${promises} (rounds ${(reply.microsPerRequest ?? []).map((x) => x.toFixed(2)).join(', ')})\n`);
    });
  }
  const lines = ['', `In process (${requests} requests a round, 5 rounds, ${passes} passes; Node ${process.versions.node}): CPU µs a request, median over passes`, '', '| configuration | µs/req | over bare | each pass | bytes allocated/req | over bare |', '|---|---:|---:|---|---:|---:|'];
  for (const [name, values] of figures) {
    const base = baselineOf(configs.get(name) as BenchConfig);
    const bare = base === undefined ? undefined : figures.get(base.name);
    const own = base?.name === name;
    const over = bare === undefined || own ? '' : `+${round(median(values) - median(bare), 2)}`;
    const allocated = median(bytes.get(name) ?? []);
    const bareBytes = base === undefined ? undefined : bytes.get(base.name);
    const overBytes = bareBytes === undefined || own ? '' : `+${Math.round(allocated - median(bareBytes))}`;
    lines.push(`| ${name} | ${round(median(values), 2)} | ${over} | ${values.map((v) => v.toFixed(2)).join(', ')} | ${Math.round(allocated)} | ${overBytes} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
});
