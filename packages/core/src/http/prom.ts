import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LlmscopeConfigError } from '../config/errors';

type MetricClass = typeof Counter | typeof Gauge | typeof Histogram;

/** The `metrics.prefix` of each registry llmscope registers in (absent: no prefix). */
const prefixes = new WeakMap<Registry, string>();

/**
 * Sets the prefix of llmscope's metric names in `registry` (option `metrics.prefix`), before any
 * metric is registered there. An app registry shared by two instances must get the same prefix.
 */
export function setMetricPrefix(registry: Registry, prefix: string): void {
  const current = prefixes.get(registry);
  if (current !== undefined && current !== prefix) {
    throw new LlmscopeConfigError(`option \`metrics.prefix\` is ${JSON.stringify(prefix)}, but another llmscope instance registers in the same registry with ${JSON.stringify(current)}; give both the same prefix, or each its own registry.`);
  }
  prefixes.set(registry, prefix);
}

/** `name` with the registry's `metrics.prefix`. */
export function metricName(registry: Registry, name: string): string {
  const prefix = prefixes.get(registry);
  return prefix === undefined ? name : prefix + name;
}

/**
 * Returns the metric `name` (with the registry's `metrics.prefix`) from `registry` if it is already there with the same type (an app
 * registry shared by two llmscope instances, or a hot reload), else registers a new one. Saves
 * users from prom-client's "metric already registered" error.
 */
export function getOrCreate<C extends MetricClass>(Kind: C, registry: Registry, config: ConstructorParameters<C>[0]): InstanceType<C> {
  const name = metricName(registry, config.name);
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) {
    if (existing instanceof Kind) return existing as InstanceType<C>;
    throw new LlmscopeConfigError(`the registry already has a metric named ${name} of another type; rename the app's metric or give llmscope its own registry.`);
  }
  return new Kind({ ...config, name, registers: [registry] } as never) as InstanceType<C>;
}

/** A counter named `name` in `registry` (shared when it is there already). */
export function counter<L extends string = never>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return getOrCreate(Counter, registry, { name, help, labelNames }) as Counter<L>;
}

/** A histogram named `name` in `registry` (shared when it is there already). */
export function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return getOrCreate(Histogram, registry, { name, help, labelNames, buckets }) as Histogram<L>;
}

/** A gauge named `name` in `registry`, optionally read at scrape time by `collect`. */
export function gauge<L extends string = never>(registry: Registry, name: string, help: string, labelNames: readonly L[] = [], collect?: (this: Gauge<L>) => void): Gauge<L> {
  return getOrCreate(Gauge, registry, collect === undefined ? { name, help, labelNames } : { name, help, labelNames, collect }) as Gauge<L>;
}

/** `llmscope_telemetry_dropped_total`: one metric fed by the exporters and the tail sampler. */
export function droppedCounter(registry: Registry): Counter<'exporter'> {
  return counter(registry, 'llmscope_telemetry_dropped_total', 'Spans or events an exporter could not deliver (queue full, backend failing or too slow), by exporter.', ['exporter']);
}
