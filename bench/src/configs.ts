/** One server configuration of the benchmark. */
export interface BenchConfig {
  framework: 'express' | 'fastify' | 'nestjs' | 'context';
  name: string;
  script: string;
  variant: string;
  /** The baseline ratios are computed against (same framework). */
  bare?: boolean;
  /** llmscope configurations checked against a target ratio and against peers. */
  target?: { ratio: number; beats?: string[] };
}

export const CONFIGS: BenchConfig[] = [
  { framework: 'express', name: 'express bare', script: 'servers/express.ts', variant: 'bare', bare: true },
  { framework: 'express', name: 'express + llmscope metrics', script: 'servers/express.ts', variant: 'llmscope-metrics', target: { ratio: 0.95, beats: ['express + express-prom-bundle'] } },
  { framework: 'express', name: 'express + llmscope full', script: 'servers/express.ts', variant: 'llmscope-full', target: { ratio: 0.85, beats: ['express + OTel auto-instrumentation'] } },
  { framework: 'express', name: 'express + llmscope full, tail-sampled', script: 'servers/express.ts', variant: 'llmscope-sampled' },
  { framework: 'express', name: 'express + express-prom-bundle', script: 'servers/express.ts', variant: 'express-prom-bundle' },
  { framework: 'express', name: 'express + OTel auto-instrumentation', script: 'servers/express-otel.ts', variant: 'otel' },
  { framework: 'context', name: 'express + AsyncLocalStorage.run', script: 'servers/express.ts', variant: 'als', target: { ratio: 0, beats: ['express + cls-hooked'] } },
  { framework: 'context', name: 'express + cls-hooked', script: 'servers/express.ts', variant: 'cls-hooked' },
  { framework: 'fastify', name: 'fastify bare', script: 'servers/fastify.ts', variant: 'bare', bare: true },
  { framework: 'fastify', name: 'fastify + llmscope metrics', script: 'servers/fastify.ts', variant: 'llmscope-metrics', target: { ratio: 0.95, beats: ['fastify + fastify-metrics'] } },
  { framework: 'fastify', name: 'fastify + llmscope full', script: 'servers/fastify.ts', variant: 'llmscope-full', target: { ratio: 0.85, beats: ['fastify + @fastify/otel'] } },
  { framework: 'fastify', name: 'fastify + llmscope tracing, no exporter', script: 'servers/fastify.ts', variant: 'llmscope-traced' },
  { framework: 'fastify', name: 'fastify + llmscope full, tail-sampled', script: 'servers/fastify.ts', variant: 'llmscope-sampled' },
  { framework: 'fastify', name: 'fastify + fastify-metrics', script: 'servers/fastify.ts', variant: 'fastify-metrics' },
  { framework: 'fastify', name: 'fastify + @fastify/otel', script: 'servers/fastify.ts', variant: 'fastify-otel' },
  { framework: 'nestjs', name: 'nestjs bare', script: 'servers/nest.ts', variant: 'bare', bare: true },
  { framework: 'nestjs', name: 'nestjs + llmscope metrics', script: 'servers/nest.ts', variant: 'llmscope-metrics', target: { ratio: 0.95 } },
];

/** The baseline of a configuration: the bare server of its framework (context rows compare to bare Express). */
export function baselineOf(config: BenchConfig): BenchConfig | undefined {
  const framework = config.framework === 'context' ? 'express' : config.framework;
  return CONFIGS.find((c) => c.framework === framework && c.bare);
}
