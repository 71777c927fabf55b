/**
 * Micro-measurements, run in a process of their own: the cost of recording one LLM call
 * (span + metrics, batch-exported to a no-op exporter) and the time to render /metrics
 * with 10,000 series (sample lines).
 */
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Llmscope } from '@llmscope/core';

const noopExporter: SpanExporter = {
  export(_spans: ReadableSpan[], done) {
    done({ code: 0 });
  },
  async shutdown() {},
};

function llmRecordMicros(iterations: number): number {
  const scope = new Llmscope({ tracing: { spanProcessors: [new BatchSpanProcessor(noopExporter, { maxQueueSize: 100000, maxExportBatchSize: 5000 })] }, metrics: { defaultMetrics: false } });
  const result = { id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', usage: { prompt_tokens: 120, completion_tokens: 85 } };
  const ctx = scope.startRequest('POST', '/chat', {}, undefined);
  const call = () => scope.traceLLM({ model: 'gpt-4o-mini', provider: 'openai', temperature: 0.2 }, () => result);
  return scope.run(ctx, () => {
    for (let i = 0; i < 2000; i++) call(); // warm-up: JIT and label children
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) call();
    return Number(process.hrtime.bigint() - start) / 1000 / iterations;
  });
}

async function metricsRender(seriesTarget: number): Promise<{ series: number; ms: number }> {
  const scope = new Llmscope({ tracing: false, metrics: { defaultMetrics: false } });
  let series = 0;
  let route = 0;
  // Each route adds a histogram (buckets + sum + count) and a counter sample: grow routes until the
  // exposition holds `seriesTarget` sample lines.
  while (series < seriesTarget) {
    for (let i = 0; i < 50; i++, route++) {
      const ctx = scope.startRequest('GET', `/r${route}`, {}, undefined);
      scope.setRoute(ctx, `/route${route}/:id`);
      scope.finishRequest(ctx, 200);
    }
    const text = (await scope.handleMetrics(undefined)).body;
    series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  }
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const start = performance.now();
    await scope.handleMetrics(undefined);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { series, ms: times[Math.floor(times.length / 2)] as number };
}

/**
 * What an active AsyncLocalStorage costs each promise: 10 awaits run inside 0, 1 and 2 nested
 * stores (the figure behind keeping one store when tracing is on). Returns µs per promise added
 * by each store.
 */
async function alsPerPromiseMicros(units: number): Promise<{ oneStore: number; twoStores: number }> {
  const stores = [new AsyncLocalStorage<object>(), new AsyncLocalStorage<object>()];
  const work = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve(i);
  };
  const time = async (n: number): Promise<number> => {
    let fn = work;
    for (const store of stores.slice(0, n)) {
      const inner = fn;
      fn = () => store.run({}, inner);
    }
    for (let i = 0; i < 2000; i++) await fn();
    const start = process.hrtime.bigint();
    for (let i = 0; i < units; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1000 / units;
  };
  const none = await time(0);
  const one = await time(1);
  const two = await time(2);
  // Each unit creates ~11 promises (10 awaits and the async function's own).
  return { oneStore: (one - none) / 11, twoStores: (two - none) / 11 };
}

async function main(): Promise<void> {
  const iterations = Number(process.env.BENCH_MICRO_ITERATIONS ?? 50000);
  const llm = [llmRecordMicros(iterations), llmRecordMicros(iterations), llmRecordMicros(iterations)].sort((a, b) => a - b)[1] as number;
  const render = await metricsRender(10000);
  const als = await alsPerPromiseMicros(iterations);
  process.stdout.write(JSON.stringify({ llmRecordMicros: llm, metricsSeries: render.series, metricsRenderMs: render.ms, alsOneStore: als.oneStore, alsTwoStores: als.twoStores }) + '\n');
  process.exit(0);
}

void main();
