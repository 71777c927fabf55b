/**
 * @llmscope/testkit: real-protocol local backends (on 127.0.0.1, random ports) for tests and
 * examples. Each backend speaks the real wire format of the service it stands in for. Plus the
 * helpers the tests share: an in-memory span exporter on llmscope's processor, a Prometheus text
 * parser, a real Prometheus started on a free port, a local HTTP listener, a bounded load
 * generator and an in-memory pino logger.
 * @packageDocumentation
 */
export { Backend, waitFor, type FaultMode, type BackendOptions, type ReceivedRequest, type Reply } from './backend';
export { OtlpReceiver, type ReceivedSpan, type OtlpValue } from './otlp-receiver';
export { decodeOtlp, decodeOtlpJson, decodeOtlpProtobuf } from './otlp-decode';
export { LangfuseServer, type LangfuseServerOptions, type LangfusePrompt, type LangfuseScore } from './langfuse-server';
export { SentryServer, parseEnvelope, type SentryServerOptions, type Envelope, type EnvelopeItem, type SentryEvent } from './sentry-server';
export { LlmServer, type LlmScript, type LlmRequest, type ScriptedUsage } from './llm-server';
export {
  memoryExporter, waitForSpans, listen, portForChild, parseMetrics, parsePrometheusText, find, PrometheusParseError, load, percentile, memoryLogger, startPrometheus,
  type Listening, type Sample, type MetricFamily, type MetricType, type LoadResult, type PrometheusOptions, type PrometheusServer, type InstantVector,
} from './helpers';
