import { Backend, RECEIVE_TIMEOUT_MS, waitFor, type BackendOptions, type Reply, type ReceivedRequest } from './backend';
import { decodeOtlp, type ReceivedSpan } from './otlp-decode';

/**
 * An OTLP/HTTP trace receiver (`POST /v1/traces`, protobuf or JSON, gzip or not), decoding with
 * the official OpenTelemetry proto definitions. Stands in for a collector, Jaeger, Tempo or
 * Honeycomb in tests. Point an exporter at `receiver.tracesUrl` (or `OTEL_EXPORTER_OTLP_ENDPOINT`
 * at `receiver.url`).
 */
export class OtlpReceiver extends Backend {
  /** Every span received, in arrival order. */
  readonly spans: ReceivedSpan[] = [];
  /** Headers of each accepted export request. */
  readonly exportHeaders: ReceivedRequest['headers'][] = [];

  constructor(options?: BackendOptions) {
    super(options);
  }

  /** `http://127.0.0.1:<port>/v1/traces`. */
  get tracesUrl(): string {
    return `${this.url}/v1/traces`;
  }

  protected handle(request: ReceivedRequest): Reply {
    if (request.method !== 'POST' || request.path !== '/v1/traces') return { status: 404, body: { message: 'not found' } };
    return acceptOtlp(request, this.spans, this.exportHeaders);
  }

  /** Spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Waits until `predicate` holds for the spans received so far; resolves with them. */
  waitForSpans(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = RECEIVE_TIMEOUT_MS): Promise<ReceivedSpan[]> {
    return waitFor(() => predicate(this.spans) && this.spans, timeoutMs, 'spans at the OTLP receiver');
  }
}

/** Decodes an OTLP export request into `into`; answers like a collector (protobuf or JSON). */
export function acceptOtlp(request: ReceivedRequest, into: ReceivedSpan[], headers: ReceivedRequest['headers'][]): Reply {
  const contentType = request.headers['content-type'];
  const spans = decodeOtlp(request.body, contentType);
  into.push(...spans);
  headers.push(request.headers);
  // An empty ExportTraceServiceResponse in the same encoding as the request.
  if (contentType !== undefined && contentType.includes('json')) return { status: 200, body: {} };
  return { status: 200, body: Buffer.alloc(0), headers: { 'content-type': 'application/x-protobuf' } };
}

export type { ReceivedSpan, OtlpValue } from './otlp-decode';
