import { createServer, IncomingMessage, ServerResponse, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * An HTTP server for an Express app whose requests and responses are born with the app's
 * prototypes (docs/express.md, "On Node 20 and 22"): Express's per-request `setPrototypeOf` is
 * then a no-op, and on Node 20/22 a bench row measures the middleware rather than Express's
 * garbage collection. The Express and NestJS app-prototype rows use it.
 */
export function appPrototypeServer(app: RequestListener & { request: object; response: object }): Server {
  function AppRequest(this: IncomingMessage, socket: Socket): void {
    IncomingMessage.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage): void {
    ServerResponse.call(this, req);
  }
  AppResponse.prototype = app.response;
  return createServer({ IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse }, app);
}

/** Listens on a random port of 127.0.0.1; resolves with the port. */
export function listenLocal(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}
