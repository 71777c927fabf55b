/** One server configuration of the benchmark. */
export interface BenchConfig {
  framework: 'express' | 'express-app-prototypes' | 'fastify' | 'nestjs' | 'nestjs-app-prototypes' | 'context';
  name: string;
  script: string;
  variant: string;
  /**
   * `otlp-env`: the server gets `OTEL_EXPORTER_OTLP_ENDPOINT` pointed at the bench's local sink
   * (how a new user turns export on). Every other configuration runs with no `OTEL_*` variable.
   */
  env?: 'otlp-env';
  /**
   * Express (or Nest's Express) served by a server whose requests and responses are born with the app's prototypes
   * (docs/express.md, "On Node 20 and 22"): Express's per-request `setPrototypeOf` is then a
   * no-op, and on Node 20/22 the rows measure llmscope rather than Express's garbage collection.
   */
  appPrototypes?: true;
  /** `spin` variants: the µs of pure user-mode work added per request (a control row). */
  spinMicros?: number;
  /** The baseline ratios are computed against (same framework). */
  bare?: boolean;
  /** llmscope configurations checked against targets (issue 17's table). */
  target?: {
    /** CPU and req/s ratio to bare at least this (0: no ratio target). */
    ratio: number;
    /** Costs less CPU per request than each of these rows. */
    beats?: string[];
    /** Adds at most half the CPU per request over bare that this (peer) row adds. */
    halfOf?: string;
    /** CPU ratio within `within` of this row's (NestJS against Express). */
    near?: { name: string; within: number };
  };
}

const EXPRESS = 'servers/express.ts';
const FASTIFY = 'servers/fastify.ts';
const NEST = 'servers/nest.ts';

// "defaults": `llmscope()` with no options, NODE_ENV=production, as a new user runs it. Tail
// sampling is on by default, so "defaults + OTLP exporter" is the shipped tail-sampled export.
export const CONFIGS: BenchConfig[] = [
  { framework: 'express', name: 'express bare', script: EXPRESS, variant: 'bare', bare: true },
  { framework: 'express', name: 'express + llmscope metrics', script: EXPRESS, variant: 'llmscope-metrics', target: { ratio: 0.95, beats: ['express + express-prom-bundle'] } },
  { framework: 'express', name: 'express + llmscope metrics + console', script: EXPRESS, variant: 'llmscope-metrics-console' },
  { framework: 'express', name: 'express + llmscope defaults, no exporter', script: EXPRESS, variant: 'llmscope-defaults', target: { ratio: 0.90 } },
  { framework: 'express', name: 'express + llmscope defaults + OTLP exporter', script: EXPRESS, variant: 'llmscope-defaults', env: 'otlp-env', target: { ratio: 0.85 } },
  { framework: 'express', name: 'express + llmscope full', script: EXPRESS, variant: 'llmscope-full', target: { ratio: 0, beats: ['express + OTel auto-instrumentation'], halfOf: 'express + OTel auto-instrumentation' } },
  { framework: 'express', name: 'express + express-prom-bundle', script: EXPRESS, variant: 'express-prom-bundle' },
  { framework: 'express', name: 'express + OTel auto-instrumentation', script: 'servers/express-otel.ts', variant: 'otel' },
  { framework: 'context', name: 'express + AsyncLocalStorage.run', script: EXPRESS, variant: 'als', target: { ratio: 0, beats: ['express + cls-hooked'] } },
  { framework: 'context', name: 'express + cls-hooked', script: EXPRESS, variant: 'cls-hooked' },
  { framework: 'context', name: 'express + 10 µs spin (control)', script: EXPRESS, variant: 'spin', spinMicros: 10 },
  // Informational (no targets: the are on Express as users run it): the same rows on a
  // server made with the app's prototypes.
  { framework: 'express-app-prototypes', name: 'express (app-prototype server) bare', script: EXPRESS, variant: 'bare', bare: true, appPrototypes: true },
  { framework: 'express-app-prototypes', name: 'express (app-prototype server) + llmscope metrics', script: EXPRESS, variant: 'llmscope-metrics', appPrototypes: true },
  { framework: 'express-app-prototypes', name: 'express (app-prototype server) + llmscope defaults, no exporter', script: EXPRESS, variant: 'llmscope-defaults', appPrototypes: true },
  { framework: 'express-app-prototypes', name: 'express (app-prototype server) + llmscope defaults + OTLP exporter', script: EXPRESS, variant: 'llmscope-defaults', env: 'otlp-env', appPrototypes: true },
  { framework: 'express-app-prototypes', name: 'express (app-prototype server) + AsyncLocalStorage.run', script: EXPRESS, variant: 'als', appPrototypes: true },
  { framework: 'fastify', name: 'fastify bare', script: FASTIFY, variant: 'bare', bare: true },
  { framework: 'fastify', name: 'fastify + llmscope metrics', script: FASTIFY, variant: 'llmscope-metrics', target: { ratio: 0.85, beats: ['fastify + fastify-metrics'] } },
  { framework: 'fastify', name: 'fastify + llmscope defaults, no exporter', script: FASTIFY, variant: 'llmscope-defaults', target: { ratio: 0.80 } },
  { framework: 'fastify', name: 'fastify + llmscope defaults + OTLP exporter', script: FASTIFY, variant: 'llmscope-defaults', env: 'otlp-env', target: { ratio: 0.70 } },
  { framework: 'fastify', name: 'fastify + llmscope full', script: FASTIFY, variant: 'llmscope-full', target: { ratio: 0, beats: ['fastify + @fastify/otel'], halfOf: 'fastify + @fastify/otel' } },
  { framework: 'fastify', name: 'fastify + fastify-metrics', script: FASTIFY, variant: 'fastify-metrics' },
  { framework: 'fastify', name: 'fastify + @fastify/otel', script: FASTIFY, variant: 'fastify-otel' },
  // Controls: what the least a per-request plugin does costs here, and what a known amount of
  // pure user-mode work costs (on these VMs, about twice itself: docs/performance.md).
  { framework: 'fastify', name: 'fastify + empty onRequest hook (control)', script: FASTIFY, variant: 'hook' },
  { framework: 'fastify', name: 'fastify + AsyncLocalStorage.run (control)', script: FASTIFY, variant: 'als' },
  { framework: 'fastify', name: 'fastify + 3 µs spin (control)', script: FASTIFY, variant: 'spin', spinMicros: 3 },
  { framework: 'nestjs', name: 'nestjs bare', script: NEST, variant: 'bare', bare: true },
  { framework: 'nestjs', name: 'nestjs + llmscope metrics', script: NEST, variant: 'llmscope-metrics', target: { ratio: 0.95, near: { name: 'express + llmscope metrics', within: 0.03 } } },
  { framework: 'nestjs', name: 'nestjs + llmscope defaults, no exporter', script: NEST, variant: 'llmscope-defaults', target: { ratio: 0.90, near: { name: 'express + llmscope defaults, no exporter', within: 0.03 } } },
  { framework: 'nestjs', name: 'nestjs + llmscope defaults + OTLP exporter', script: NEST, variant: 'llmscope-defaults', env: 'otlp-env', target: { ratio: 0.85, near: { name: 'express + llmscope defaults + OTLP exporter', within: 0.03 } } },
  { framework: 'nestjs', name: 'nestjs + AsyncLocalStorage.run (control)', script: NEST, variant: 'als' },
  // Informational: Nest's Express app on an app-prototype server, against the Express rows above.
  { framework: 'nestjs-app-prototypes', name: 'nestjs (app-prototype server) bare', script: NEST, variant: 'bare', bare: true, appPrototypes: true },
  { framework: 'nestjs-app-prototypes', name: 'nestjs (app-prototype server) + llmscope metrics', script: NEST, variant: 'llmscope-metrics', appPrototypes: true },
  { framework: 'nestjs-app-prototypes', name: 'nestjs (app-prototype server) + llmscope defaults, no exporter', script: NEST, variant: 'llmscope-defaults', appPrototypes: true },
  { framework: 'nestjs-app-prototypes', name: 'nestjs (app-prototype server) + llmscope defaults + OTLP exporter', script: NEST, variant: 'llmscope-defaults', env: 'otlp-env', appPrototypes: true },
  { framework: 'nestjs-app-prototypes', name: 'nestjs (app-prototype server) + AsyncLocalStorage.run (control)', script: NEST, variant: 'als', appPrototypes: true },
];

/** The baseline of a configuration: the bare server of its framework (context rows compare to bare Express). */
export function baselineOf(config: BenchConfig): BenchConfig | undefined {
  const framework = config.framework === 'context' ? 'express' : config.framework;
  return CONFIGS.find((c) => c.framework === framework && c.bare);
}

/** The server's environment: no `OTEL_*` variable from this shell, the sink's endpoint where a row asks for it, then `BENCH_SERVER_ENV`. */
export function serverEnv(config: BenchConfig, otlp: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { BENCH_OTLP_URL: otlp };
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) env[name] = undefined;
  if (config.env === 'otlp-env') env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.replace(/\/v1\/traces$/, '');
  if (config.spinMicros !== undefined) env.BENCH_SPIN_US = String(config.spinMicros);
  if (config.appPrototypes === true) env.BENCH_EXPRESS_SERVER = 'app-prototypes';
  // BENCH_SERVER_ENV="K=v,K2=v2": variables for every server, after the clean-up above (e.g. OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2048).
  for (const pair of process.env.BENCH_SERVER_ENV?.split(',') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0) env[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return env;
}
