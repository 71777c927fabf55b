/**
 * `npm run bench [-- --quick] [-- --only <text>[,<text>...]] [-- --rounds 5 --seconds 5] [-- --bare-twice] [-- --client busy|autocannon] [-- --interleave]`:
 * every configuration in a process of its own (pinned to core 1), driven by the load generator
 * (pinned to core 0; default the busy-polling client, see client.ts), alternating configurations in
 * rounds so that machine drift hits them alike. `--interleave`: a block's servers all run at once,
 * loaded in alternating half-second slices (interleave.ts; tried, not the default:
 * docs/performance.md, "Alternating slices"). `--bare-twice`: each block's bare server is read
 * twice a round, half a block apart, and the round's bare reading is the two together
 * (bare-twice.ts). Reports req/s, p50/p99, server CPU µs per request
 * and ratios to the bare framework; writes bench/results/. The servers run on the Node that runs
 * this script: `npx -y -p node@24 node --import tsx src/run.ts` benches Node 24.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { baselineOf, CONFIGS, serverEnv, type BenchConfig } from './configs';
import { pinSelf, ServerProcess } from './process';
import { renderMarkdown, type Results, type Row } from './report';
import { disturbedRounds } from './rounds';
import { benchClient } from './client';
import { CONNECTIONS, measureServer, type Measurement } from './measure';
import { measureInterleaved, type SliceOptions } from './interleave';
import { bareTwiceOrder, foldBareTwice } from './bare-twice';
import { startSink } from './sink';
import { chosenByOnly, cliArg } from './each-server';
import { median, round } from './stats';

const args = process.argv.slice(2);

/** A positive number (`integer`: a whole one) given as `name n` on the command line; fails at start-up on anything else. */
function positiveArg(name: string, integer = false): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} ${args[i + 1] ?? ''}: give a positive ${integer ? 'whole ' : ''}number, e.g. ${name} 5`);
  }
  return value;
}
const quick = args.includes('--quick');
const only = cliArg('--only');
/** `--only a,b`: the configurations whose names contain any of the comma-separated texts (all without `--only`). */
const picked = (name: string): boolean => chosenByOnly(name) ?? true;
/** `--rounds n` / `--seconds s`: more fresh processes per configuration, shorter each (one slow process in five to ten, docs/performance.md). */
const ROUNDS = positiveArg('--rounds', true) ?? (quick ? 1 : 3);
const WARMUP_S = quick ? 1 : 2;
const DURATION_S = positiveArg('--seconds') ?? (quick ? 3 : 8);
const SOAK_REQUESTS = quick ? 50000 : 500000;
const CLIENT = benchClient();
const SEQUENTIAL = !args.includes('--interleave');
/** `--bare-twice`: each block's bare server read twice a round, half a block apart (bare-twice.ts). */
const BARE_TWICE = args.includes('--bare-twice');
if (BARE_TWICE && !SEQUENTIAL) throw new Error('--bare-twice measures one server after another; leave out --interleave');
/** Alternating slices of half a second, as many a round as make the sequential window (8 s). */
const SLICES: SliceOptions = { warmupSeconds: WARMUP_S, passes: DURATION_S * 2, sliceSeconds: 0.5, settleSeconds: quick ? 2 : 6, client: CLIENT };

async function measure(config: BenchConfig, otlp: string): Promise<Measurement> {
  const server = await ServerProcess.start(config.script, config.variant, serverEnv(config, otlp), 1);
  try {
    return await measureServer(server, { warmupSeconds: WARMUP_S, seconds: DURATION_S, client: CLIENT });
  } finally {
    await server.stop();
  }
}

/** One reading of each of a block's configurations, in the order given. */
async function measureBlock(block: BenchConfig[], otlp: string): Promise<Measurement[]> {
  if (SEQUENTIAL) {
    const bare = BARE_TWICE ? block.findIndex((c) => c.bare === true) : -1;
    const order = bare < 0 ? block.map((_, i) => i) : bareTwiceOrder(block.length, bare);
    const out: Measurement[] = [];
    let bareReadings = 0;
    for (const i of order) {
      const m = await measure(block[i] as BenchConfig, otlp);
      if (bare >= 0 && i === bare) process.stdout.write(`  bare reading ${++bareReadings} of 2: ${round(m.cpuMicros, 1)} µs CPU/req\n`);
      out.push(m);
    }
    return bare < 0 ? out : foldBareTwice(order, out);
  }
  const servers: ServerProcess[] = [];
  try {
    for (const config of block) servers.push(await ServerProcess.start(config.script, config.variant, serverEnv(config, otlp), 1));
    return await measureInterleaved(servers, SLICES);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

// The soak counts requests, not seconds, so it keeps autocannon (`amount`): it measures memory, not CPU.
async function soak(): Promise<Results['memory']> {
  // Every exporter pointed at a dead port: spans must be dropped, not hoarded.
  const server = await ServerProcess.start('servers/fastify.ts', 'llmscope-soak', {}, 1, ['--expose-gc']);
  try {
    const warm = Math.round(SOAK_REQUESTS * 0.1);
    await autocannon({ url: `http://127.0.0.1:${server.port}/users/42`, connections: CONNECTIONS, amount: warm });
    // Errors too, so that the Sentry path (and its bounded in-flight set) is soaked.
    await autocannon({ url: `http://127.0.0.1:${server.port}/boom`, connections: CONNECTIONS, amount: 2000 });
    const early = await server.sample(true);
    await autocannon({ url: `http://127.0.0.1:${server.port}/users/42`, connections: CONNECTIONS, amount: SOAK_REQUESTS - warm });
    const late = await server.sample(true);
    const mb = (n: number) => round(n / 1048576, 1);
    return {
      requests: SOAK_REQUESTS,
      rssMbAfterWarmup: mb(early.memory!.rss), rssMbAtEnd: mb(late.memory!.rss),
      heapMbAfterWarmup: mb(early.memory!.heapUsed), heapMbAtEnd: mb(late.memory!.heapUsed),
      flat: late.memory!.heapUsed - early.memory!.heapUsed < 8 * 1048576,
    };
  } finally {
    await server.stop();
  }
}

function micro(): Results['micro'] {
  const cmd = process.platform === 'linux' ? '/usr/bin/taskset' : process.execPath;
  const argv = ['--import', 'tsx', join(__dirname, 'micro.ts')];
  const out = execFileSync(cmd, cmd === process.execPath ? argv : ['-c', '1', process.execPath, ...argv], {
    cwd: join(__dirname, '..'), env: { ...process.env, NODE_ENV: 'production', BENCH_MICRO_ITERATIONS: quick ? '20000' : '100000' }, encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { llmRecordMicros: number; metricsSeries: number; metricsRenderMs: number; alsOneStore: number; alsTwoStores: number };
  return {
    llmRecordMicros: round(r.llmRecordMicros), llmRecordTarget: 20, metricsSeries: r.metricsSeries, metricsRenderMs: round(r.metricsRenderMs), metricsRenderTarget: 50,
    alsPerPromiseMicros: { oneStore: round(r.alsOneStore, 3), twoStores: round(r.alsTwoStores, 3) },
  };
}

async function main(): Promise<void> {
  pinSelf(0);
  const sink = await startSink();
  const configs = CONFIGS.filter((c) => picked(c.name) || (c.bare && CONFIGS.some((x) => picked(x.name) && baselineOf(x) === c)));
  const samples = new Map<string, Measurement[]>();
  // Each baseline's configurations form a block, so that a ratio compares measurements minutes
  // apart: these shared machines change speed by 2x over minutes (bare Fastify 24 to 51 µs a
  // request across the rounds of one run), which ratios of medians taken 10 minutes apart carry.
  const blocks = new Map<string, BenchConfig[]>();
  for (const c of configs) {
    const key = baselineOf(c)?.name ?? c.name;
    blocks.set(key, [...(blocks.get(key) ?? []), c]);
  }
  const blockList = [...blocks.values()];
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    // Rotate the blocks and the order inside each every round, so that drift does not always hit
    // the same configuration.
    const order = blockList.map((_, b) => blockList[(b + round_) % blockList.length] as BenchConfig[])
      .map((block) => block.map((_, i) => block[(i + round_) % block.length] as BenchConfig));
    for (const block of order) {
      const ms = await measureBlock(block, sink.url);
      block.forEach((config, i) => {
        const m = ms[i] as Measurement;
        samples.set(config.name, [...(samples.get(config.name) ?? []), m]);
        process.stdout.write(`round ${round_ + 1}/${ROUNDS}  ${config.name.padEnd(40)} ${Math.round(m.rps)} req/s  ${round(m.cpuMicros, 1)} µs CPU/req (user ${round(m.userMicros, 1)}, system ${round(m.systemMicros, 1)}${m.inSliceMicros === undefined ? '' : `; in its slices ${round(m.inSliceMicros, 1)}`})  p99 ${m.p99} ms\n`);
      });
    }
  }
  const med = (name: string, key: Exclude<keyof Measurement, 'inSliceMicros'>) => median((samples.get(name) ?? []).map((m) => m[key]));
  /** The median over rounds of `f` of two rows' measurements in the same round. */
  const paired = (a: string, b: string, f: (x: Measurement, y: Measurement) => number): number => {
    const xs = samples.get(a) ?? [];
    const ys = samples.get(b) ?? [];
    return median(xs.map((x, i) => f(x, ys[i] as Measurement)));
  };
  /** In how many rounds `holds` is true of the rows' measurements of that round (how near a target is). */
  const roundsWhere = (names: string[], holds: (...ms: Measurement[]) => boolean): string => {
    const lists = names.map((name) => samples.get(name) ?? []);
    const n = Math.min(...lists.map((l) => l.length));
    let k = 0;
    for (let i = 0; i < n; i++) if (holds(...lists.map((l) => l[i] as Measurement))) k++;
    return `${k} of ${n} rounds`;
  };
  const cpuByRow = new Map([...samples].map(([name, ms]) => [name, ms.map((m) => round(m.cpuMicros, 1))]));
  const blockNames = new Map([...blocks].map(([bare, list]) => [bare, list.map((c) => c.name)]));
  const disturbed = disturbedRounds(blockNames, cpuByRow);
  /** Which round a ratio's median is (odd round counts), and whether either of its readings was flagged there. */
  const medianRound = (name: string, base: string): string => {
    const xs = samples.get(name) ?? [];
    const bs = samples.get(base) ?? [];
    const ratios = xs.map((x, i) => ({ i, r: (bs[i] as Measurement).cpuMicros / x.cpuMicros })).sort((a, b) => a.r - b.r);
    if (ratios.length < 3 || ratios.length % 2 === 0) return '';
    const at = (ratios[(ratios.length - 1) / 2] as { i: number }).i + 1;
    const flagged = disturbed.some((d) => d.round === at && d.rows.some((row) => row.name === name || row.name === base));
    return `; median from round ${at}, ${flagged ? 'a disturbed reading in it' : 'clean'}`;
  };
  const rowsByName = new Map<string, Row>();
  const rows: Row[] = configs.map((c) => {
    const base = baselineOf(c);
    const rps = med(c.name, 'rps');
    const cpu = med(c.name, 'cpuMicros');
    const row: Row = {
      name: c.name, framework: c.framework, rps: Math.round(rps), p50: med(c.name, 'p50'), p99: med(c.name, 'p99'), cpuMicros: round(cpu, 1),
      userMicros: round(med(c.name, 'userMicros'), 1), systemMicros: round(med(c.name, 'systemMicros'), 1), errors: med(c.name, 'errors'),
      cpuMicrosByRound: cpuByRow.get(c.name) ?? [],
    };
    if (base && base !== c && samples.has(base.name)) {
      row.rpsRatio = round(paired(c.name, base.name, (x, b) => x.rps / b.rps), 3);
      row.cpuRatio = round(paired(c.name, base.name, (x, b) => b.cpuMicros / x.cpuMicros), 3);
      row.userRatio = round(paired(c.name, base.name, (x, b) => b.userMicros / x.userMicros), 3);
    }
    if (c.target) {
      const checks: string[] = [];
      let met = true;
      if (c.target.ratio > 0) {
        const ok = (row.cpuRatio ?? 0) >= c.target.ratio && (row.rpsRatio ?? 0) >= c.target.ratio;
        met &&= ok;
        const t = c.target.ratio;
        const rounds = base === undefined ? '' : `; within a round: ${roundsWhere([c.name, base.name], (x, b) => b.cpuMicros / x.cpuMicros >= t && x.rps / b.rps >= t)}`;
        checks.push(`ratio ≥ ${t}: ${ok ? 'met' : 'missed'} (CPU ${row.cpuRatio}, req/s ${row.rpsRatio}${rounds}${base === undefined ? '' : medianRound(c.name, base.name)})`);
      }
      for (const peer of c.target.beats ?? []) {
        if (!samples.has(peer)) continue;
        // In the same round: this row's CPU per request over the peer's.
        const rel = paired(c.name, peer, (x, y) => x.cpuMicros / y.cpuMicros);
        const ok = rel < 1;
        met &&= ok;
        checks.push(`ahead of ${peer}: ${ok ? 'met' : 'missed'} (${round(cpu, 1)} vs ${round(med(peer, 'cpuMicros'), 1)} µs CPU/req; ${round(rel, 3)}× the peer's CPU, median of rounds)`);
      }
      const peer = c.target.halfOf;
      if (peer !== undefined && base !== undefined && samples.has(peer) && samples.has(base.name)) {
        const added = paired(c.name, base.name, (x, b) => x.cpuMicros - b.cpuMicros);
        const peerAdded = paired(peer, base.name, (x, b) => x.cpuMicros - b.cpuMicros);
        const ok = added <= peerAdded / 2;
        met &&= ok;
        const rounds = roundsWhere([c.name, base.name, peer], (x, b, p) => x.cpuMicros - b.cpuMicros <= (p.cpuMicros - b.cpuMicros) / 2);
        checks.push(`added CPU ≤ half of ${peer}'s: ${ok ? 'met' : 'missed'} (+${round(added, 1)} vs +${round(peerAdded, 1)} µs CPU/req, medians of rounds; within a round: ${rounds})`);
      }
      const near = c.target.near;
      if (near !== undefined && samples.has(near.name) && row.cpuRatio !== undefined) {
        const other = rowsByName.get(near.name)?.cpuRatio;
        if (other !== undefined) {
          const ok = row.cpuRatio >= other - near.within;
          met &&= ok;
          checks.push(`CPU ratio within ${near.within} of ${near.name}: ${ok ? 'met' : 'missed'} (${row.cpuRatio} vs ${other})`);
        }
      }
      row.target = { met, checks };
    }
    rowsByName.set(c.name, row);
    return row;
  });
  const results: Results = {
    date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', quick,
    rounds: ROUNDS, durationSeconds: DURATION_S, connections: CONNECTIONS, client: CLIENT, slices: SEQUENTIAL ? undefined : { passes: SLICES.passes, seconds: SLICES.sliceSeconds }, bareTwice: BARE_TWICE || undefined, rows,
    micro: only ? undefined : micro(),
    memory: only ? undefined : await soak(),
    otlpExportsReceived: sink.received(),
    disturbed,
  };
  sink.server.close();
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  // A partial run (`--only`), one of another shape (`--rounds`, `--seconds`) or one on another Node
  // than the floor (20) does not replace the full run's results: each kind has its file
  // (`latest-node24.md`, `latest-quick-only.md`, `latest-5x5s.md`, ...).
  const major = process.versions.node.split('.')[0];
  const shape = `${args.includes('--rounds') || args.includes('--seconds') ? `-${ROUNDS}x${DURATION_S}s` : ''}${BARE_TWICE ? '-bare-twice' : ''}`;
  const base = `latest${quick ? '-quick' : ''}${only !== undefined ? '-only' : ''}${shape}${major === '20' ? '' : `-node${major}`}`;
  writeFileSync(join(dir, `${base}.json`), JSON.stringify(results, null, 2) + '\n');
  const md = renderMarkdown(results);
  writeFileSync(join(dir, `${base}.md`), md);
  process.stdout.write('\n' + md);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
