/**
 * @llmscope/core/adapter: what a framework adapter needs beyond what apps use. An adapter
 * translates its framework's hooks into the request lifecycle of {@link Llmscope}
 * (`startRequest` → `run` → `setRoute` → `recordError` → `finishRequest`) and holds no metric,
 * span or context logic of its own. See docs/adapters.md.
 * @packageDocumentation
 */
export { Llmscope, createLlmscope } from './llmscope';
export { RequestContext, getContext } from './context/context';
export { resolveOptions, type ResolvedOptions } from './config/options';
export type { HandlerResponse } from './http/metrics-endpoint';
export type { MetricsServerAddress } from './http/metrics-server';
// The kit: what every adapter built on Node's http objects does around a request, once.
export { isMetricsRequest, serveMetrics, setTraceIdHeader, finishOnClose, startNodeRequest, respondWithError, isFeedbackRequest, serveFeedback, serveOwnRoute, serveTableRoute, withInstance } from './http/node-response';
export { matchOwnRoute } from './http/own-routes';
// What exporters and logs redact with, for other sinks that show captured content (the console).
export { Redactor } from './logging/redact';
export type { FeedbackRoute } from './evals/feedback';
export { resolveEvaluatorList } from './evals/options';
