/**
 * Drives a bench server's own request handler in process, without sockets (`micro-app.ts`): each
 * request is an `IncomingMessage` and a `ServerResponse` of the server's own classes (the
 * app-prototype servers' too) on a socket that discards what is written, handed to the server's
 * `'request'` listeners as Node's HTTP parser would, and closed as Node closes a keep-alive
 * response (`detachSocket`, then `'close'` on the next tick). Ten requests are in flight, as the
 * bench's ten connections. What the HTTP bench adds (the parser, the syscalls, the load
 * generator's wakeups) is left out, and with it most of the noise between runs.
 */
import { AsyncResource } from 'node:async_hooks';
import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** A connection that accepts every write at once and never reads. */
class NullSocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback();
  }
  override _writev(_chunks: unknown[], callback: (error?: Error | null) => void): void {
    callback();
  }
}

type RequestClass = new (socket: Socket) => IncomingMessage;
type ResponseClass = new (req: IncomingMessage) => ServerResponse;

/** The classes the server makes its requests and responses with (Node keeps them under symbols). */
function classesOf(server: Server): { Req: RequestClass; Res: ResponseClass } {
  let Req: RequestClass = IncomingMessage as unknown as RequestClass;
  let Res: ResponseClass = ServerResponse as unknown as ResponseClass;
  for (const symbol of Object.getOwnPropertySymbols(server)) {
    const value = (server as unknown as Record<symbol, unknown>)[symbol];
    if (symbol.description === 'IncomingMessage' && typeof value === 'function') Req = value as RequestClass;
    if (symbol.description === 'ServerResponse' && typeof value === 'function') Res = value as ResponseClass;
  }
  return { Req, Res };
}

const RAW_HEADERS = ['Host', '127.0.0.1', 'x-user-id', 'bench-user', 'Connection', 'keep-alive'];

/** Runs `total` requests for `path`, ten at a time; resolves with the statuses seen. */
export function drive(server: Server, path: string, total: number): Promise<Map<number, number>> {
  const { Req, Res } = classesOf(server);
  const statuses = new Map<number, number>();
  let started = 0;
  let finished = 0;
  return new Promise((resolve) => {
    // The next request on a connection starts in the caller's context (none), as one read from a
    // socket does, not inside the context of the response that just closed.
    const next = AsyncResource.bind((socket: NullSocket): void => {
      setImmediate(one, socket);
    });
    const one = (socket: NullSocket): void => {
      started++;
      const req = new Req(socket as unknown as Socket);
      req.method = 'GET';
      req.url = path;
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.httpVersion = '1.1';
      req.headers = { host: '127.0.0.1', 'x-user-id': 'bench-user', connection: 'keep-alive' };
      req.rawHeaders = RAW_HEADERS;
      req.complete = true;
      req.push(null);
      const res = new Res(req);
      res.shouldKeepAlive = true;
      res.assignSocket(socket as unknown as Socket);
      res.on('finish', () => {
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        res.detachSocket(socket as unknown as Socket);
        process.nextTick(() => {
          (res as { destroyed: boolean }).destroyed = true;
          res.emit('close');
          finished++;
          if (started < total) next(socket);
          else if (finished === total) resolve(statuses);
        });
      });
      server.emit('request', req, res);
    };
    for (let i = 0; i < 10 && started < total; i++) one(new NullSocket());
  });
}
