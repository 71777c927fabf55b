import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

/**
 * How a testkit backend answers:
 * - `ok`: normally;
 * - `fail`: HTTP 500 to every request;
 * - `hang`: holds every request without answering for `hangMs` (default: until `close()`), then 503;
 * - `slow`: answers normally after `delayMs`.
 */
export type FaultMode = 'ok' | 'fail' | 'hang' | 'slow';

/** Options shared by every testkit backend. */
export interface BackendOptions {
  /** Initial fault mode. Default `ok`. */
  mode?: FaultMode;
  /** Delay of `slow` mode, ms. Default 500. */
  delayMs?: number;
  /** How long `hang` mode holds a request, ms. Default: until `close()`. */
  hangMs?: number;
}

/** One HTTP request as a backend received it (body decompressed). */
export interface ReceivedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** What a route handler returns. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Base of the testkit backends: an HTTP server on 127.0.0.1 and a random port, a fault mode
 * that can be changed at any time, request counting, and a `close()` that also ends requests
 * held by `hang` mode (so tests never leak sockets).
 */
export abstract class Backend {
  /** Current fault mode; change it whenever a test needs the backend to misbehave. */
  mode: FaultMode;
  delayMs: number;
  hangMs: number | undefined;
  /** Requests received, in every mode. */
  requestCount = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private portNumber = 0;

  constructor(options: BackendOptions = {}) {
    this.mode = options.mode ?? 'ok';
    this.delayMs = options.delayMs ?? 500;
    this.hangMs = options.hangMs;
  }

  /** Port the backend listens on (after `start()`). */
  get port(): number {
    return this.portNumber;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  /** Starts listening on 127.0.0.1 and a random free port. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.onRequest(req, res);
    });
    server.keepAliveTimeout = 1000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops the server and ends every request still held. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Answers one decoded request; the fault mode has already been applied. */
  protected abstract handle(request: ReceivedRequest): Reply | Promise<Reply>;

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.requestCount++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = this.mode;
      if (mode === 'fail') {
        send(res, { status: 500, body: { message: 'testkit: failing on purpose' } });
        return;
      }
      if (mode === 'hang') {
        if (this.hangMs !== undefined) this.later(this.hangMs, () => send(res, { status: 503, body: { message: 'testkit: hung' } }));
        return;
      }
      const answer = (): void => {
        let request: ReceivedRequest;
        try {
          const url = new URL(req.url ?? '/', 'http://127.0.0.1');
          request = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: decompress(Buffer.concat(chunks), req.headers['content-encoding']) };
        } catch (error) {
          send(res, { status: 400, body: { message: `testkit: bad body: ${String(error)}` } });
          return;
        }
        Promise.resolve()
          .then(() => this.handle(request))
          .then((reply) => send(res, reply), (error: unknown) => send(res, { status: 400, body: { message: `testkit: ${error instanceof Error ? error.message : String(error)}` } }));
      };
      if (mode === 'slow') this.later(this.delayMs, answer);
      else answer();
    });
  }
}

function decompress(body: Buffer, encoding: string | undefined): Buffer {
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  return body;
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.writableEnded || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers };
  let body: string | Buffer = '';
  if (Buffer.isBuffer(reply.body)) body = reply.body;
  else if (typeof reply.body === 'string') body = reply.body;
  else if (reply.body !== undefined) {
    body = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json';
  }
  res.writeHead(reply.status, headers);
  res.end(body);
}

/**
 * The default timeout of the receivers' `waitFor…` methods: what they wait for crosses an
 * exporter's batch delay and a network round trip, which a loaded 2-core CI machine can stretch
 * to seconds. It only bounds a failing test (a passing one returns as soon as the data is there).
 */
export const RECEIVE_TIMEOUT_MS = 15_000;

/**
 * Resolves once `check()` returns a value other than `undefined`/`false`, polling every 20 ms;
 * rejects after `timeoutMs` with `what` in the message.
 */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`testkit: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
