import { DISTURBED_OVER_FASTEST, type DisturbedRound } from './rounds';

/** One configuration's medians over the rounds. */
export interface Row {
  name: string;
  framework: string;
  rps: number;
  p50: number;
  p99: number;
  cpuMicros: number;
  /** The user-mode part of `cpuMicros` (the rest is system time: mostly the socket syscalls). */
  userMicros?: number;
  systemMicros?: number;
  errors: number;
  /** instrumented req/s ÷ bare req/s, median over rounds of the ratio within each round */
  rpsRatio?: number;
  /** bare CPU per request ÷ instrumented CPU per request, median over rounds of the ratio within each round */
  cpuRatio?: number;
  /** bare user CPU ÷ instrumented user CPU per request, median over rounds of the ratio within each round */
  userRatio?: number;
  target?: { met: boolean; checks: string[] };
  /** CPU µs a request in each round, in round order (runs since 2026-12-02 20:18). */
  cpuMicrosByRound?: number[];
}

export interface Results {
  date: string;
  node: string;
  cpus: number;
  cpuModel: string;
  quick: boolean;
  rounds: number;
  durationSeconds: number;
  /** Alternating slices (interleave.ts): each configuration loaded `passes` times a round for `seconds`; absent when measured one after the other (every run before 2026-12-02 23:00). */
  slices?: { passes: number; seconds: number };
  /** `--bare-twice`: each round's bare reading is two processes' together, half a block apart (bare-twice.ts). */
  bareTwice?: boolean;
  connections: number;
  /** The load generator (`busy`: bench/loadgen/busy-client.cc; `autocannon`); absent in runs before 2026-12-01 (autocannon). */
  client?: string;
  rows: Row[];
  micro?: { llmRecordMicros: number; llmRecordTarget: number; metricsSeries: number; metricsRenderMs: number; metricsRenderTarget: number; alsPerPromiseMicros?: { oneStore: number; twoStores: number } };
  memory?: { requests: number; rssMbAfterWarmup: number; rssMbAtEnd: number; heapMbAfterWarmup: number; heapMbAtEnd: number; flat: boolean };
  otlpExportsReceived: number;
  /** Readings well above their configuration's fastest round (see rounds.ts); absent in earlier runs. */
  disturbed?: DisturbedRound[];
}

const mark = (ok: boolean): string => (ok ? '✅ met' : '❌ missed');

export function renderMarkdown(r: Results): string {
  const lines = [
    `# llmscope benchmark${r.quick ? ' (quick)' : ''}`,
    '',
    `${r.date} · Node ${r.node} · ${r.cpus} CPUs (${r.cpuModel}) · ${r.rounds} round(s) × ${r.slices === undefined ? `${r.durationSeconds} s` : `${r.slices.passes} alternating slices of ${r.slices.seconds} s (a block's servers loaded in turn)`}${r.bareTwice === true ? ' · each bare server read twice a round, half a block apart (two processes, one reading)' : ''} · ${r.connections} connections · load generator: ${r.client === 'busy' ? 'busy-polling client (bench/loadgen/busy-client.cc)' : 'autocannon'} · server pinned to core 1, load generator to core 0 · medians over rounds`,
    '',
    '| configuration | req/s | p50 ms | p99 ms | CPU µs/req | user + system µs | req/s ratio | CPU ratio | user CPU ratio | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of r.rows) {
    const split = row.userMicros === undefined ? '' : `${row.userMicros} + ${row.systemMicros}`;
    lines.push(`| ${row.name} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.cpuMicros} | ${split} | ${row.rpsRatio ?? ''} | ${row.cpuRatio ?? ''} | ${row.userRatio ?? ''} | ${row.target ? mark(row.target.met) : ''} |`);
  }
  const checks = r.rows.filter((row) => row.target).flatMap((row) => row.target!.checks.map((c) => `- ${row.name}: ${c}`));
  if (checks.length) lines.push('', '## Targets', '', ...checks);
  if (r.rounds > 1 && r.disturbed !== undefined) lines.push('', ...renderRounds(r.rows, r.disturbed));
  if (r.micro) {
    lines.push('', '## Micro', '',
      `- one LLM call recorded (span + metrics, batch-exported): ${r.micro.llmRecordMicros} µs (target ≤ ${r.micro.llmRecordTarget} µs: ${mark(r.micro.llmRecordMicros <= r.micro.llmRecordTarget)})`,
      `- /metrics render with ${r.micro.metricsSeries} series: ${r.micro.metricsRenderMs} ms (target ≤ ${r.micro.metricsRenderTarget} ms: ${mark(r.micro.metricsRenderMs <= r.micro.metricsRenderTarget)})`);
    const als = r.micro.alsPerPromiseMicros;
    if (als) lines.push(`- what active AsyncLocalStorage stores add to each promise: one store ${als.oneStore} µs, two stores ${als.twoStores} µs`);
  }
  if (r.memory) {
    lines.push('', '## Memory (Fastify + llmscope with OTLP, Langfuse and Sentry exporters, every backend a dead port)', '',
      `- ${r.memory.requests} requests: heap ${r.memory.heapMbAfterWarmup} MB after warm-up → ${r.memory.heapMbAtEnd} MB at the end (after GC); RSS ${r.memory.rssMbAfterWarmup} → ${r.memory.rssMbAtEnd} MB: ${mark(r.memory.flat)} (flat = heap growth < 8 MB)`);
  }
  lines.push('', `CPU ratio = bare CPU per request ÷ instrumented CPU per request (steadier than req/s on a noisy machine; the targets are on it). User CPU ratio: the same on user-mode time only; system time is mostly the socket syscalls (with autocannon, whose cost on loopback also depends on whether the load generator was asleep when the answer came: docs/performance.md, "The load generator's wakeups"). Ratios and the targets' comparisons are medians over rounds of the figure within each round (a framework's configurations run as one block per round, bare included); the µs columns are medians over rounds. A ratio above 1 on Express or NestJS on Node 20 or 22 is not a measurement of llmscope's cost: there the middleware undoes the cost of Express's per-request prototype change, which the bare app keeps (docs/performance.md, "Express on Node 20 and 22, undone by the middleware"); read llmscope's own cost from the app-prototype rows. OTLP export requests received by the local sink: ${r.otlpExportsReceived}.`, '');
  return lines.join('\n');
}

/**
 * The run's steadiness: each block's bare CPU by round, and the readings more than
 * {@link DISTURBED_OVER_FASTEST} above their configuration's fastest round.
 */
function renderRounds(rows: readonly Row[], disturbed: readonly DisturbedRound[]): string[] {
  const pct = Math.round(DISTURBED_OVER_FASTEST * 100);
  const lines = ['## Rounds', '',
    `Readings more than ${pct}% above their configuration's fastest round, by block and round: noise on a shared machine only adds CPU time, so these are disturbed readings. A ratio's median is one of its rounds' ratios; it is clean when that round's two readings are not listed.`, ''];
  // A block's bare row is the one without a ratio.
  for (const bare of rows) {
    if (bare.cpuRatio !== undefined || bare.cpuMicrosByRound === undefined) continue;
    const notes = disturbed.filter((d) => d.block === bare.name)
      .map((d) => `round ${d.round}: ${d.rows.map((x) => `${x.name} +${Math.round(x.overFastest * 100)}%`).join(', ')}`);
    lines.push(`- ${bare.name} (${bare.cpuMicrosByRound.join(' / ')} µs a request by round): ${notes.length === 0 ? 'no reading flagged' : notes.join('; ')}`);
  }
  return lines;
}
