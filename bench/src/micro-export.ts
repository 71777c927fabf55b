/**
 * CPU per request with the real OTLP exporter, in process, by share of traces kept (issue 17
 * items 3 and 4): a request of one span (`startRequest` → `run` → `setRoute` → `finishRequest`,
 * the HTTP bench's shape) into `exporters.otlp`, sending to a sink in another process. The loop
 * yields to the event loop every 20 requests, so that the export queue's timers and sends run
 * as they do in a server (`micro-tail.ts` runs without them: a no-op export stage).
 *
 * Rows: metrics only (`tracing: false`); no exporter (id-only spans); the exporter with tail sampling keeping nothing (the lean
 * span and the sampler alone); keeping 1%, 5% and 10% by base rate (the route rule off, so the share
 * is exact), and every trace by base rate (the tail sampler's own path for kept traces); every
 * trace exported without tail sampling (`tail: false`). Keeping k% minus keeping nothing is what
 * exporting k% of the traces costs a request; divided by k%, a kept span.
 *
 * `npx tsx src/micro-export.ts` (each row in its own process pinned to core 1, the sink and this
 * runner on core 0 under `taskset -c 0`); `RUNS=n` rounds of the rows, `MODES=a,b` some rows,
 * `REQUESTS=n` requests a measured round (7 rounds; 60,000 by default), `BATCH=n` batches of n
 * spans (`keep1` against `keep10`: what is fixed per export, what is per kept span), `WARMUP=n`
 * requests before the rounds (60,000 by default).
 */
import { Llmscope, type LlmscopeOptions } from '../../packages/core/src/index';
import { runRowsAgainstSink } from './sink';

const MODES = ['metrics', 'no-exporter', 'keep0', 'keep1', 'keep5', 'keep10', 'keep100', 'all'] as const;
type Mode = (typeof MODES)[number];

function options(mode: Mode, url: string): LlmscopeOptions<never> {
  const base: LlmscopeOptions<never> = { metrics: { defaultMetrics: false } };
  // BATCH=n: batches of n spans (and a queue of 4n), for the batch size's effect on a kept span's cost.
  const batch = process.env.BATCH === undefined ? undefined : Number(process.env.BATCH);
  const exporters = { otlp: { url }, ...(batch === undefined ? {} : { queue: { maxBatchSize: batch, maxQueueSize: 4 * batch } }) };
  const tail = (baseRate: number): LlmscopeOptions<never> => ({ ...base, exporters, sampling: { tail: { baseRate, routeLatency: false } } });
  switch (mode) {
    case 'metrics': return { ...base, tracing: false };
    case 'no-exporter': return base;
    case 'keep0': return tail(0);
    case 'keep1': return tail(0.01);
    case 'keep5': return tail(0.05);
    case 'keep10': return tail(0.1);
    case 'keep100': return tail(1);
    case 'all': return { ...base, exporters, sampling: { tail: false } };
  }
}

async function runOne(mode: Mode, url: string): Promise<void> {
  const scope = new Llmscope(options(mode, url));
  const headers = { 'x-user-id': 'bench-user' };
  const request = (): void => {
    const ctx = scope.startRequest('GET', '/users/1', headers, undefined);
    scope.run(ctx, () => undefined);
    scope.setRoute(ctx, '/users/:id');
    scope.finishRequest(ctx, 200);
  };
  const requests = (n: number): Promise<void> => new Promise((resolve) => {
    let left = n;
    const turn = (): void => {
      for (let i = 0; i < 20; i++) request();
      left -= 20;
      if (left > 0) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  // Warm-up: JIT, the route's label children, the exporter's first sends. `WARMUP=n` for longer:
  // the HTTP client and the transport cost several times less after a few thousand exports (micro-send.ts).
  await requests(Number(process.env.WARMUP ?? 60000));
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const n = Number(process.env.REQUESTS ?? 60000);
    const start = process.cpuUsage();
    await requests(n);
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / n);
  }
  rounds.sort((a, b) => a - b);
  // Spans the queue dropped (full: the sink slower than the loop) were never encoded nor sent:
  // a row with drops understates the export's cost.
  const dropped = (await scope.registry?.getSingleMetric('llmscope_telemetry_dropped_total')?.get())?.values.find((v) => v.labels.exporter === 'otlp')?.value ?? 0;
  process.stdout.write(JSON.stringify({ mode, usPerRequest: rounds[3], dropped, rounds: rounds.map((x) => Number(x.toFixed(2))) }) + '\n');
  await scope.shutdown(5000);
}

const [mode, url] = process.argv.slice(2);
if (mode !== undefined) {
  if (!(MODES as readonly string[]).includes(mode) || url === undefined) throw new Error(`micro-export: unknown row ${mode}; one of ${MODES.join(', ')} (and the sink's URL)`);
  void runOne(mode as Mode, url).then(() => process.exit(0));
} else {
  void runRowsAgainstSink(__filename, (process.env.MODES?.split(',') as Mode[] | undefined) ?? MODES, Number(process.env.RUNS ?? 2));
}
