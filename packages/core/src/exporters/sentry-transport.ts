import * as http from 'node:http';
import * as https from 'node:https';
import type { TelemetryHealth } from './health';
import { untraced } from '../tracing/untraced';

type SentryNode = typeof import('@sentry/node');
type NodeTransportOptions = Parameters<SentryNode['makeNodeTransport']>[0];
type HttpModule = NonNullable<NodeTransportOptions['httpModule']>;
type Transport = ReturnType<SentryNode['makeNodeTransport']>;
type Envelope = Parameters<Transport['send']>[0];
type TransportMakeRequestResponse = Awaited<ReturnType<Transport['send']>>;

const NAME = 'sentry';
const TOO_MANY_IN_FLIGHT = new Error('too many events in flight: Sentry is slower than the error rate (or not answering)');
const AT_SHUTDOWN = new Error('events still in flight to Sentry when llmscope shut down');
const NOT_SENT = new Error('Sentry\'s transport did not send the event (a rate-limit backoff Sentry asked for, or its buffer full)');

/**
 * What a Sentry answer means for the event: `undefined` when it was delivered. Sentry's transport
 * answers without a status when it did not send the envelope at all: during a rate-limit backoff
 * (after a 429) or with its buffer full (`createTransport` in @sentry/core).
 */
export function sentryFailure(response: TransportMakeRequestResponse): Error | undefined {
  if (response.statusCode === undefined) return NOT_SENT;
  return response.statusCode >= 400 ? new Error(`Sentry answered HTTP ${response.statusCode}`) : undefined;
}

/**
 * The transport of llmscope's own Sentry client (Sentry's Node transport, bounded), so that Sentry
 * cannot hurt the app either: at most `maxInFlight` envelopes in flight (more are dropped), each
 * bounded by `timeoutMs`. Every event that does not reach Sentry is counted in
 * `llmscope_telemetry_dropped_total{exporter="sentry"}` exactly once, whatever the road: the cap,
 * a failed connection, an error status, no answer in time, Sentry's transport not sending it
 * (rate-limit backoff, buffer full), or still in flight at shutdown; failures are logged at most
 * once per interval.
 *
 * The timeout also ends the HTTP request itself: Sentry's agent only times out idle sockets, so a
 * backend that accepts and never answers would otherwise keep each request, its socket (30 at
 * most, the next ones wait in the agent) and its slot of Sentry's buffer (64, then every event is
 * skipped without a word) for as long as the process lives.
 */
export class BoundedSentryTransport {
  /** Ends each envelope in flight (its promise settles once, counted when it carries an error). */
  private readonly pending = new Set<(response: TransportMakeRequestResponse, error?: unknown) => void>();
  /** The HTTP requests in flight, ended at shutdown. */
  private readonly requests = new Set<http.ClientRequest>();
  private closed = false;

  constructor(
    private readonly sentry: SentryNode,
    private readonly health: TelemetryHealth,
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
  ) {}

  /** The `transport` option of llmscope's client. */
  readonly factory = (options: NodeTransportOptions): Transport => {
    const base = this.sentry.makeNodeTransport({ ...options, httpModule: this.httpModule(options.url) });
    return {
      send: (envelope: Envelope) => this.send(base, envelope),
      flush: (timeout?: number) => base.flush(timeout),
    };
  };

  /** Envelopes in flight now. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Shutdown gave up waiting: the envelopes still in flight are counted as dropped (a late answer
   * is not counted again), their requests ended (no socket left holding the process), and
   * anything sent from now on is dropped and counted.
   */
  abandon(): void {
    this.closed = true;
    for (const settle of [...this.pending]) settle({}, AT_SHUTDOWN);
    for (const request of this.requests) request.destroy(AT_SHUTDOWN);
  }

  private httpModule(url: string): HttpModule {
    const secure = url.startsWith('https:');
    return {
      request: (options, callback) => {
        const request = secure ? https.request(options, callback) : http.request(options, callback);
        const timer = setTimeout(() => request.destroy(new Error(`Sentry did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        timer.unref();
        this.requests.add(request);
        request.once('close', () => {
          clearTimeout(timer);
          this.requests.delete(request);
        });
        return request;
      },
    };
  }

  private send(base: Transport, envelope: Envelope): PromiseLike<TransportMakeRequestResponse> {
    if (this.closed || this.pending.size >= this.maxInFlight) {
      this.health.dropped(NAME, 1);
      this.health.failed(NAME, this.closed ? AT_SHUTDOWN : TOO_MANY_IN_FLIGHT);
      return Promise.resolve({});
    }
    return new Promise<TransportMakeRequestResponse>((resolve) => {
      const settle = (response: TransportMakeRequestResponse, error?: unknown): void => {
        if (!this.pending.delete(settle)) return;
        clearTimeout(timer);
        if (error !== undefined) {
          this.health.dropped(NAME, 1);
          this.health.failed(NAME, error);
        }
        resolve(response);
      };
      this.pending.add(settle);
      // The same bound as the request's: also covers an envelope that waits for a socket.
      const timer = setTimeout(() => settle({}, new Error(`Sentry did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
      // Events are sent from inside the failing request: not traced, no traceparent.
      Promise.resolve(untraced(() => base.send(envelope))).then(
        (response) => settle(response, sentryFailure(response)),
        (error: unknown) => settle({}, error),
      );
    });
  }
}
