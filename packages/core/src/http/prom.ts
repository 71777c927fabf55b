import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LlmscopeConfigError } from '../config/errors';

type MetricClass = typeof Counter | typeof Gauge | typeof Histogram;

/**
 * Returns the metric `name` from `registry` if it is already there with the same type (an app
 * registry shared by two llmscope instances, or a hot reload), else registers a new one. Saves
 * users from prom-client's "metric already registered" error.
 */
export function getOrCreate<C extends MetricClass>(Kind: C, registry: Registry, config: ConstructorParameters<C>[0]): InstanceType<C> {
  const existing = registry.getSingleMetric(config.name);
  if (existing !== undefined) {
    if (existing instanceof Kind) return existing as InstanceType<C>;
    throw new LlmscopeConfigError(`the registry already has a metric named ${config.name} of another type; rename the app's metric or give llmscope its own registry.`);
  }
  return new Kind({ ...config, registers: [registry] } as never) as InstanceType<C>;
}
