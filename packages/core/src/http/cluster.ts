import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { LlmscopeConfigError } from '../config/errors';
import { digest, tokenMatches, type HandlerResponse } from './metrics-endpoint';
import { MetricsServer, type MetricsServerAddress } from './metrics-server';

/**
 * Node `cluster` workers served as one `/metrics` (prom-client's AggregatorRegistry): the primary
 * asks every worker for its registry over the cluster IPC channel at each scrape and serves the
 * sum. Counters and histogram buckets add up; gauges too (requests in flight, queue depths, spend),
 * except those every worker holds the same value of (budgets, prompt rollout), served once.
 */

/** llmscope gauges whose value is the same in every worker (configuration, not load): the maximum, not the sum. */
const SAME_IN_EVERY_WORKER = new Set(['llmscope_budget_usd', 'llmscope_budget_tokens', 'llmscope_prompt_rollout_weight', 'llmscope_prompt_rollout_state']);

/**
 * What a worker sends the primary: its registry's metrics, with the aggregator of the gauges that
 * must not be summed set to `max`. A Registry subclass, because prom-client's cluster module
 * accepts registries only.
 */
class WorkerView extends Registry {
  constructor(private readonly source: Registry) {
    super();
  }

  override async getMetricsAsJSON(): Promise<Array<MetricObjectWithValues<MetricValue<string>>>> {
    const metrics = await this.source.getMetricsAsJSON();
    for (const m of metrics) {
      // A metrics.prefix is ahead of the name: matched by suffix.
      for (const name of SAME_IN_EVERY_WORKER) {
        if (m.name.endsWith(name)) m.aggregator = 'max';
      }
    }
    return metrics;
  }
}

/**
 * Worker side of {@link llmscopeClusterMetrics}: answers the primary's metric requests with this
 * worker's llmscope registry (and `also`, e.g. the app's own registry). Call once per worker,
 * after creating llmscope; a no-op outside a cluster worker. Give the worker's llmscope
 * `metrics: { path: false }`: a scrape of the app's port would reach one worker at random.
 *
 * @param source - the worker's llmscope instance (`mw.llmscope`, `app.llmscope`, `new Llmscope()`) or its registry
 * @param also - other registries of the worker to serve in the aggregate (prom-client's `register` for the app's metrics)
 */
export function llmscopeClusterWorker(source: { readonly registry: Registry | undefined } | Registry, also: Registry[] = []): void {
  const registry = source instanceof Registry ? source : source.registry;
  if (registry === undefined) throw new LlmscopeConfigError('llmscopeClusterWorker: this llmscope instance has no metrics (`metrics: false`); enable metrics, with `metrics: { path: false }` in cluster workers.');
  // prom-client answers the primary only once an AggregatorRegistry exists in the process (its constructor adds the listener).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([new WorkerView(registry), ...also]);
}

/** Options of {@link llmscopeClusterMetrics}. */
export interface ClusterMetricsOptions {
  /** Port of the aggregate endpoint (0: any free port). */
  port: number;
  /** Interface. Default: all interfaces. */
  host?: string;
  /** Path. Default `/metrics`. */
  path?: string;
  /** Bearer token required from scrapers, as `metrics.bearerToken`. */
  bearerToken?: string;
}

/** The aggregate endpoint served by the primary. */
export interface ClusterMetrics {
  /** Resolves once listening (rejects, with a warning, when the port is taken). */
  readonly listening: Promise<MetricsServerAddress>;
  /** The aggregate exposition, as a scrape gets it. */
  handle(authorization?: string): Promise<HandlerResponse>;
  /** Stops serving. */
  close(): Promise<void>;
}

/**
 * Primary side: serves the metrics of every `cluster` worker (each wired with
 * {@link llmscopeClusterWorker}) as one Prometheus exposition on `port`. Each scrape asks the
 * connected workers over IPC (prom-client times out after 5 s: a 500 then) and sums the series by
 * label set: `http_server_requests_total` is the total over workers, histogram buckets merge.
 * The aggregate is Prometheus text 0.0.4 (prom-client's aggregation drops exemplars).
 */
export function llmscopeClusterMetrics(options: ClusterMetricsOptions): ClusterMetrics {
  const { port, host, path = '/metrics', bearerToken } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LlmscopeConfigError(`llmscopeClusterMetrics: \`port\` must be a port number from 0 to 65535, such as 9464; got ${JSON.stringify(port)}.`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new LlmscopeConfigError(`llmscopeClusterMetrics: \`path\` must start with "/", such as "/metrics"; got ${JSON.stringify(path)}.`);
  if (bearerToken !== undefined && (typeof bearerToken !== 'string' || bearerToken === '')) throw new LlmscopeConfigError('llmscopeClusterMetrics: `bearerToken` must be a non-empty string (remove it to leave the endpoint open).');
  const aggregator = new AggregatorRegistry();
  const expected = bearerToken === undefined ? undefined : digest(bearerToken);
  const handle = async (authorization?: string): Promise<HandlerResponse> => {
    if (expected !== undefined && !tokenMatches(authorization, expected)) {
      return { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' }, body: 'Unauthorized\n' };
    }
    try {
      const body = await aggregator.clusterMetrics();
      return { status: 200, headers: { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }, body };
    } catch (error) {
      return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `cluster metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n` };
    }
  };
  const server = new MetricsServer((authorization) => handle(authorization), path, port, host);
  return { listening: server.listening, handle, close: () => server.close() };
}
