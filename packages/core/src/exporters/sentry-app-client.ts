import { randomUUID } from 'node:crypto';
import type { TelemetryHealth } from './health';
import { sentryFailure } from './sentry-transport';

type SentryNode = typeof import('@sentry/node');
type Client = NonNullable<ReturnType<SentryNode['getClient']>>;

const NAME = 'sentry';
const AT_SHUTDOWN = new Error('events still in flight through the app\'s Sentry client when llmscope shut down');
const TOO_MANY_IN_FLIGHT = new Error('too many events in flight through the app\'s Sentry client: Sentry is slower than the error rate (or not answering)');

interface Pending {
  timer: NodeJS.Timeout;
  /** The client handed the event to its transport (it passed sampling, beforeSend, dedupe). */
  sending: boolean;
}

/**
 * The in-flight cap and timeout of llmscope's own Sentry transport, held when llmscope reports
 * through the app's client (the app called `Sentry.init()`). The app's transport is not wrapped:
 * the app's own events keep the app's behaviour. Instead llmscope bounds what IT sends: each of
 * its events takes a slot (at most `maxInFlight`, further events are dropped and counted before
 * reaching the client) until the client's `afterSendEvent` hook reports the answer (counted as
 * dropped unless Sentry accepted it), or `timeoutMs` passes or llmscope shuts down (counted as
 * dropped when the event had been handed to the transport). The app's transport keeps its own
 * request: llmscope cannot end it.
 * Events the app's configuration drops (sampleRate, beforeSend, already captured) free their
 * slot at the timeout, silently.
 */
export class AppClientLimiter {
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    client: Client,
    private readonly health: TelemetryHealth,
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
  ) {
    // Both hooks run for every event of the app too: a Map lookup by id, nothing else.
    this.unsubscribe = [
      client.on('beforeSendEvent', (event) => {
        const p = event.event_id === undefined ? undefined : this.pending.get(event.event_id);
        if (p !== undefined) p.sending = true;
      }),
      client.on('afterSendEvent', (event, response) => {
        if (event.event_id === undefined || !this.pending.has(event.event_id)) return;
        // The client never rejects: a failed connection comes as an answer without a status, as
        // do an envelope its transport skipped (rate-limit backoff, buffer full). Older clients
        // resolved with the error itself.
        const failure = (response as unknown) instanceof Error ? (response as unknown as Error) : sentryFailure(response);
        this.settle(event.event_id, failure);
      }),
    ];
  }

  /** Events of llmscope's in flight now. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Takes a slot for one event: its id (to give the client as `hint.event_id`), or `undefined`
   * when the cap is reached (the event is dropped and counted).
   */
  acquire(): string | undefined {
    if (this.pending.size >= this.maxInFlight) {
      this.health.dropped(NAME, 1);
      this.health.failed(NAME, TOO_MANY_IN_FLIGHT);
      return undefined;
    }
    const id = randomUUID().replace(/-/g, '');
    const timer = setTimeout(() => {
      const p = this.pending.get(id);
      this.settle(id, p?.sending === true ? new Error(`Sentry did not answer within ${this.timeoutMs} ms`) : undefined);
    }, this.timeoutMs);
    timer.unref();
    this.pending.set(id, { timer, sending: false });
    return id;
  }

  /** The client threw while taking the event: the slot is given back. */
  release(id: string): void {
    this.settle(id, undefined);
  }

  private settle(id: string, failure: Error | undefined): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (failure !== undefined) {
      this.health.dropped(NAME, 1);
      this.health.failed(NAME, failure);
    }
  }

  /**
   * Stops listening to the app's client (llmscope's shutdown, after its flush; the client stays
   * the app's). llmscope's events the app's transport still holds are counted as dropped: nothing
   * will report their fate any more.
   */
  close(): void {
    for (const off of this.unsubscribe) off();
    let abandoned = 0;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      if (p.sending) abandoned++;
    }
    this.pending.clear();
    if (abandoned > 0) {
      this.health.dropped(NAME, abandoned);
      this.health.failed(NAME, AT_SHUTDOWN);
    }
  }
}
