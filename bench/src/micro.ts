/**
 * Micro-measurements, run in a process of their own: the cost of recording one LLM call
 * (span + metrics, batch-exported to a no-op exporter), the time to render /metrics
 * with 10,000 series (sample lines); with BENCH_MICRO_ONLY=otlp, only the cost of encoding spans
 * as OTLP protobuf vs JSON.
 */
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Llmscope, type ExportersOptions } from '@llmscope/core';
import { startSink } from './sink';
import { ragTraces } from './rag-traces';

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


type Encoding = { protobufMicros: number; jsonMicros: number };

/**
 * OTLP encoding, protobuf vs JSON: the serializers the two OpenTelemetry exporters call, on the
 * spans of `requests` request traces (5 spans each) in batches of 512 (the default batch size),
 * both as the SDK ends them (`plain`) and as llmscope's exporters receive them (`views`: redacted
 * views inheriting from the span, as exporters/span-view.ts makes them). CPU µs per span, the
 * median of 21 rounds alternating the four; bytes per span of each body.
 */
async function otlpEncoding(requests: number): Promise<{ spans: number; plain: Encoding; views: Encoding; flat: Encoding; copy: Encoding; protobufBytes: number; jsonBytes: number }> {
  const spans: ReadableSpan[] = [];
  await ragTraces(requests, { otlp: false }, spans);
  const views = spans.map((span) => {
    const view = Object.create(span) as ReadableSpan;
    for (const [key, value] of Object.entries({ attributes: { ...span.attributes }, events: [...span.events], status: { ...span.status } })) Object.defineProperty(view, key, { value, enumerable: true });
    return view;
  });
  // As exporters/otlp.ts hands them to the serializer: each view copied into one fixed-shape object.
  const flatten = (v: ReadableSpan): ReadableSpan => {
    const context = v.spanContext();
    return {
      name: v.name, kind: v.kind, parentSpanContext: v.parentSpanContext, startTime: v.startTime, endTime: v.endTime, status: v.status,
      attributes: v.attributes, links: v.links, events: v.events, duration: v.duration, ended: v.ended, resource: v.resource,
      instrumentationScope: v.instrumentationScope, droppedAttributesCount: v.droppedAttributesCount, droppedEventsCount: v.droppedEventsCount,
      droppedLinksCount: v.droppedLinksCount, spanContext: () => context,
    } as ReadableSpan;
  };
  const flat = views.map(flatten);
  const batchesOf = (xs: ReadableSpan[]): ReadableSpan[][] => Array.from({ length: Math.ceil(xs.length / 512) }, (_, i) => xs.slice(i * 512, (i + 1) * 512));
  const inputs = { plain: batchesOf(spans), views: batchesOf(views), flat: batchesOf(flat), copy: batchesOf(views) };
  const serializers = { protobuf: ProtobufTraceSerializer, json: JsonTraceSerializer };
  const bytes = { protobuf: 0, json: 0 };
  const encode = (input: keyof typeof inputs, format: keyof typeof serializers): number => {
    let size = 0;
    // CPU time, not wall time: on a shared machine the process may be descheduled mid-round.
    const start = process.cpuUsage();
    // `copy`: the views flattened inside the timing, as the exporter does (the copy's cost counted).
    for (const batch of inputs[input]) size += serializers[format].serializeRequest(input === 'copy' ? batch.map(flatten) : batch)?.byteLength ?? 0;
    const used = process.cpuUsage(start);
    bytes[format] = size / spans.length;
    return (used.user + used.system) / spans.length;
  };
  const times = { plain: { protobuf: [] as number[], json: [] as number[] }, views: { protobuf: [] as number[], json: [] as number[] }, flat: { protobuf: [] as number[], json: [] as number[] }, copy: { protobuf: [] as number[], json: [] as number[] } };
  for (let round = 0; round < 24; round++) {
    for (const input of ['plain', 'views', 'flat', 'copy'] as const) {
      for (const format of ['protobuf', 'json'] as const) {
        const micros = encode(input, format);
        if (round >= 3) times[input][format].push(micros); // 3 rounds of warm-up (JIT)
      }
    }
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const result = (t: { protobuf: number[]; json: number[] }): Encoding => ({ protobufMicros: median(t.protobuf), jsonMicros: median(t.json) });
  return { spans: spans.length, plain: result(times.plain), views: result(times.views), flat: result(times.flat), copy: result(times.copy), protobufBytes: bytes.protobuf, jsonBytes: bytes.json };
}

type ExportConfig = 'none' | 'protobuf' | 'protobuf-gzip' | 'protobuf-2048' | 'json' | 'json-gzip';

/**
 * The same traces exported end to end through llmscope's OTLP exporter (redaction, bounded queue,
 * encoding, compression, HTTP to a local sink in this process): CPU µs per exported span above the
 * same spans recorded with no exporter, the median of `rounds` rounds (round 0 warms up), for protobuf and
 * JSON bodies, gzip or not (OTEL_EXPORTER_OTLP_COMPRESSION, read by the exporter when it is made),
 * and batches of 512 (the default) or 2048 spans.
 */
async function otlpExportCpu(requests: number, rounds: number): Promise<Record<Exclude<ExportConfig, 'none'>, number>> {
  const sink = await startSink();
  const cpu = async (exporters: ExportersOptions, gzip: boolean): Promise<number> => {
    if (gzip) process.env.OTEL_EXPORTER_OTLP_COMPRESSION = 'gzip';
    const before = process.cpuUsage();
    try {
      // The baseline records the same spans (a span processor that keeps them), so that the
      // difference is the export alone, not the recording that an exporter switches on.
      await ragTraces(requests, exporters, exporters.otlp === false ? [] : undefined);
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_COMPRESSION;
    }
    const used = process.cpuUsage(before);
    return used.user + used.system;
  };
  // A queue that holds the whole run: the loop ends spans faster than one batch a second leaves.
  const queue = { maxQueueSize: requests * 5 };
  const configs: Record<ExportConfig, [ExportersOptions, boolean]> = {
    none: [{ otlp: false }, false],
    protobuf: [{ otlp: { url: sink.url, protocol: 'http/protobuf' }, queue }, false],
    'protobuf-gzip': [{ otlp: { url: sink.url, protocol: 'http/protobuf' }, queue }, true],
    'protobuf-2048': [{ otlp: { url: sink.url, protocol: 'http/protobuf' }, queue: { ...queue, maxBatchSize: 2048 } }, false],
    json: [{ otlp: { url: sink.url, protocol: 'http/json' }, queue }, false],
    'json-gzip': [{ otlp: { url: sink.url, protocol: 'http/json' }, queue }, true],
  };
  const order = Object.keys(configs) as ExportConfig[];
  const runs = Object.fromEntries(order.map((k) => [k, [] as number[]])) as Record<ExportConfig, number[]>;
  // Rounds rotate the order, so that no configuration always pays for the garbage of the one before.
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < order.length; k++) {
      const name = order[(round + k) % order.length] as ExportConfig;
      const used = await cpu(...configs[name]);
      if (round > 0) runs[name].push(used); // round 0 warms up
    }
  }
  await new Promise((resolve) => sink.server.close(resolve));
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const spans = requests * 5;
  const none = median(runs.none);
  const per = (k: ExportConfig): number => Math.round(((median(runs[k]) - none) / spans) * 10) / 10;
  return { protobuf: per('protobuf'), 'protobuf-gzip': per('protobuf-gzip'), 'protobuf-2048': per('protobuf-2048'), json: per('json'), 'json-gzip': per('json-gzip') };
}

async function main(): Promise<void> {
  // Run by hand (docs/exporters.md has the figures): `BENCH_MICRO_ONLY=otlp node --import tsx src/micro.ts`.
  if (process.env.BENCH_MICRO_ONLY === 'otlp-encoding') {
    process.stdout.write(JSON.stringify({ otlpEncoding: await otlpEncoding(1000) }) + '\n');
    process.exit(0);
  }
  if (process.env.BENCH_MICRO_ONLY === 'otlp-export') {
    process.stdout.write(JSON.stringify({ otlpExportCpu: await otlpExportCpu(1000, Number(process.env.BENCH_MICRO_ROUNDS ?? 12)) }) + '\n');
    process.exit(0);
  }
  if (process.env.BENCH_MICRO_ONLY === 'otlp') {
    process.stdout.write(JSON.stringify({ otlpEncoding: await otlpEncoding(1000), otlpExportCpu: await otlpExportCpu(1000, Number(process.env.BENCH_MICRO_ROUNDS ?? 12)) }) + '\n');
    process.exit(0);
  }
  const iterations = Number(process.env.BENCH_MICRO_ITERATIONS ?? 50000);
  const llm = [llmRecordMicros(iterations), llmRecordMicros(iterations), llmRecordMicros(iterations)].sort((a, b) => a - b)[1] as number;
  const render = await metricsRender(10000);
  const als = await alsPerPromiseMicros(iterations);
  process.stdout.write(JSON.stringify({ llmRecordMicros: llm, metricsSeries: render.series, metricsRenderMs: render.ms, alsOneStore: als.oneStore, alsTwoStores: als.twoStores }) + '\n');
  process.exit(0);
}

void main();
