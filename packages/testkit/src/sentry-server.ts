import { Backend, RECEIVE_TIMEOUT_MS, waitFor, type BackendOptions, type Reply, type ReceivedRequest } from './backend';

/** One item of a Sentry envelope: its header and its payload (parsed as JSON when it is JSON). */
export interface EnvelopeItem {
  header: { type: string; length?: number; [key: string]: unknown };
  payload: unknown;
}

/** One envelope as received. */
export interface Envelope {
  header: Record<string, unknown>;
  items: EnvelopeItem[];
}

/** The parts of a Sentry error event tests usually look at. */
export interface SentryEvent {
  event_id?: string;
  message?: string;
  level?: string;
  exception?: { values?: { type?: string; value?: string }[] };
  user?: Record<string, unknown>;
  tags?: Record<string, string>;
  contexts?: { trace?: { trace_id?: string; span_id?: string }; [key: string]: unknown };
  extra?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Options of {@link SentryServer}. */
export interface SentryServerOptions extends BackendOptions {
  /** Public key expected in the DSN / auth header. Default `testkey`. */
  publicKey?: string;
  /** Project id of the DSN. Default `1`. */
  projectId?: string;
}

/**
 * Parses a Sentry envelope: newline-separated JSON headers, each item's payload either of the
 * `length` its header states (binary-safe, for attachments) or up to the next newline.
 */
export function parseEnvelope(body: Buffer): Envelope {
  let pos = 0;
  const line = (): Buffer => {
    const end = body.indexOf(0x0a, pos);
    const slice = body.subarray(pos, end === -1 ? body.length : end);
    pos = end === -1 ? body.length : end + 1;
    return slice;
  };
  const header = JSON.parse(line().toString('utf8')) as Record<string, unknown>;
  const items: EnvelopeItem[] = [];
  while (pos < body.length) {
    const headerLine = line();
    if (headerLine.length === 0) continue;
    const itemHeader = JSON.parse(headerLine.toString('utf8')) as EnvelopeItem['header'];
    let raw: Buffer;
    if (typeof itemHeader.length === 'number') {
      raw = body.subarray(pos, pos + itemHeader.length);
      pos += itemHeader.length;
      if (body[pos] === 0x0a) pos++;
    } else raw = line();
    let payload: unknown = raw;
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      // Attachments may be any bytes: keep them as a Buffer.
    }
    items.push({ header: itemHeader, payload });
  }
  return { header, items };
}

/**
 * A Sentry ingestion endpoint for tests (`POST /api/<project>/envelope/`, gzip or not): checks
 * the DSN key, parses envelopes and keeps their items. Give `server.dsn` to `Sentry.init` or
 * `SENTRY_DSN`.
 */
export class SentryServer extends Backend {
  readonly publicKey: string;
  readonly projectId: string;
  readonly envelopes: Envelope[] = [];
  /** Requests rejected for a missing or wrong key. */
  unauthorized = 0;

  constructor(options: SentryServerOptions = {}) {
    super(options);
    this.publicKey = options.publicKey ?? 'testkey';
    this.projectId = options.projectId ?? '1';
  }

  /** The DSN of this server: `http://<key>@127.0.0.1:<port>/<project>`. */
  get dsn(): string {
    return `http://${this.publicKey}@127.0.0.1:${this.port}/${this.projectId}`;
  }

  /** Every item of every envelope. */
  get items(): EnvelopeItem[] {
    return this.envelopes.flatMap((e) => e.items);
  }

  /** Error events (items of type `event`). */
  get events(): SentryEvent[] {
    return this.items.filter((i) => i.header.type === 'event').map((i) => i.payload as SentryEvent);
  }

  /** Waits until `predicate` holds for the events received so far. */
  waitForEvents(predicate: (events: SentryEvent[]) => boolean, timeoutMs = RECEIVE_TIMEOUT_MS): Promise<SentryEvent[]> {
    return waitFor(() => {
      const events = this.events;
      return predicate(events) && events;
    }, timeoutMs, 'events at the Sentry server');
  }

  protected handle(request: ReceivedRequest): Reply {
    if (request.method !== 'POST' || request.path !== `/api/${this.projectId}/envelope/`) return { status: 404, body: { detail: 'not found' } };
    const auth = request.headers['x-sentry-auth'];
    const key = request.query.get('sentry_key') ?? (typeof auth === 'string' ? /sentry_key=([^,\s]+)/.exec(auth)?.[1] : undefined);
    if (key !== this.publicKey) {
      this.unauthorized++;
      return { status: 401, body: { detail: 'invalid api key' } };
    }
    this.envelopes.push(parseEnvelope(request.body));
    return { status: 200, body: {} };
  }
}
