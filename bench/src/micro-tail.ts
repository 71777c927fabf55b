/**
 * CPU cost per request trace under tail sampling (issue 17 item 3), in process: a request span,
 * three RAG steps and one LLM call (`startRequest` → `run` → 3 × `step` + `traceLLM` →
 * `setRoute` → `finishRequest`), with a no-op span processor in the export stage, so that only
 * llmscope's own span path is measured. `NODE_ENV=production`: the shipped tail sampling keeps
 * the 5% base rate plus the route's slowest 5%, the rest (90%+) is dropped.
 *
 * `npx tsx src/micro-tail.ts` runs each configuration in a child process of its own (the tracer
 * provider is process-wide), alternating, and prints the median CPU µs per trace of each run;
 * `npx tsx src/micro-tail.ts <config>` runs one (tail, no-tail, no-exporter, tracing-off).
 * `BENCH_CONFIGS=tail,no-tail` chooses configurations, `BENCH_RUNS` how many rounds of them.
 * `BENCH_ENDED_ONLY=1`: the export stage reads ended spans only, as with llmscope's exporters
 * (the no-op processor says so, unwrapped: `redact.appSpanProcessors: false`).
 * `BENCH_HANDLER=empty`: the request does nothing inside (one span a trace, the HTTP bench's
 * shape): llmscope's own cost per request without the sockets and the framework.
 */
import { spawnSync } from 'node:child_process';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
// The sources, not the built package: before/after comparisons need no build.
import { Llmscope, retrievalAttributes, type LlmscopeOptions } from '../../packages/core/src/index';

const CONFIGS = ['tail', 'no-tail', 'no-exporter', 'tracing-off'] as const;
type Config = (typeof CONFIGS)[number];

/**
 * Counts what reaches the export stage (so the kept share can be checked), does nothing else.
 * `BENCH_ENDED_ONLY=1`: it declares what llmscope's exporters declare (it reads ended spans only),
 * so kept traces reach it as lean spans and `no-tail` builds no SDK spans: the path a user with
 * the OTLP exporter runs. Unset: a processor that wants SDK spans (an app's own).
 */
class NoopProcessor implements SpanProcessor {
  readonly takesEndedSpans = process.env.BENCH_ENDED_ONLY === '1';
  ended = 0;
  onStart(_span: Span): void {}
  onEnd(_span: ReadableSpan): void {
    this.ended++;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

function options(config: Config, noop: NoopProcessor): LlmscopeOptions<never> {
  // BENCH_RECENT_TRACES=0: without the evaluations' recent-trace map (fed by every LLM call), whose
  // cost varies from run to run, so that the tracing path's differences show.
  const recent = process.env.BENCH_RECENT_TRACES;
  const base: LlmscopeOptions<never> = { metrics: { defaultMetrics: false }, ...(recent === undefined ? {} : { evaluations: { recentTraces: Number(recent) } }) };
  // An app processor is wrapped for redaction (a processor that wants SDK spans): not so here.
  if (process.env.BENCH_ENDED_ONLY === '1') base.redact = { appSpanProcessors: false };
  switch (config) {
    case 'tail': return { ...base, tracing: { spanProcessors: [noop] } };
    case 'no-tail': return { ...base, tracing: { spanProcessors: [noop] }, sampling: { tail: false } };
    case 'no-exporter': return base;
    case 'tracing-off': return { ...base, tracing: false };
  }
}

function runOne(config: Config): void {
  const noop = new NoopProcessor();
  const scope = new Llmscope(options(config, noop));
  const result = { id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', usage: { prompt_tokens: 120, completion_tokens: 85 } };
  const docs = [1, 2, 3];
  const retrieval = retrievalAttributes({ dataSourceId: 'kb', topK: 3 });
  const empty = process.env.BENCH_HANDLER === 'empty';
  const headers = { 'x-user-id': 'bench-user' };
  const handler = empty ? (): void => {} : (): void => {
    scope.step('embed_query', () => 1);
    scope.step('vector_search', () => docs, retrieval);
    scope.step('prompt_construction', () => 'prompt');
    scope.traceLLM({ model: 'gpt-4o-mini', provider: 'openai', temperature: 0.2 }, () => result);
  };
  const trace = (): void => {
    const ctx = scope.startRequest('POST', '/chat', headers, undefined);
    scope.run(ctx, handler);
    scope.setRoute(ctx, '/chat');
    scope.finishRequest(ctx, 200);
  };
  for (let i = 0; i < 30000; i++) trace(); // warm-up: JIT, label children, the route's window
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const n = 20000;
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) trace();
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / n);
  }
  rounds.sort((a, b) => a - b);
  const stats = scope.samplingStats();
  const decided = stats === undefined ? 0 : Object.values(stats.decisions).reduce((a, b) => a + b, 0);
  const dropped = stats === undefined || decided === 0 ? undefined : stats.decisions.sampled_out / decided;
  process.stdout.write(JSON.stringify({ config, usPerTrace: rounds[3], rounds: rounds.map((x) => Number(x.toFixed(2))), droppedShare: dropped, spansExported: noop.ended }) + '\n');
}

const only = process.argv[2] as Config | undefined;
if (only !== undefined) {
  if (!CONFIGS.includes(only)) throw new Error(`micro-tail: unknown configuration ${only}; one of ${CONFIGS.join(', ')}`);
  runOne(only);
} else {
  const runs = Number(process.env.BENCH_RUNS ?? 2);
  const env = { ...process.env, NODE_ENV: 'production' };
  const list = (process.env.BENCH_CONFIGS?.split(',') as Config[] | undefined) ?? [...CONFIGS];
  for (let i = 0; i < runs; i++) {
    for (const config of list) {
      const out = spawnSync(process.execPath, [...process.execArgv, __filename, config], { env, encoding: 'utf8' });
      process.stdout.write(out.stdout + (out.status === 0 ? '' : out.stderr));
    }
  }
}
