/** Helpers shared by the tests of every package, the contract suite and the examples. */
export { memoryExporter, waitForSpans } from './spans';
export { listen, portForChild, type Listening } from './listen';
export { parseMetrics, parsePrometheusText, find, PrometheusParseError, type Sample, type MetricFamily, type MetricType } from './prometheus';
export { startPrometheus, type PrometheusOptions, type PrometheusServer, type InstantVector } from './prometheus-server';
export { load, percentile, type LoadResult } from './load';
export { memoryLogger } from './memory-logger';
