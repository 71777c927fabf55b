import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HandlerResponse } from './metrics-endpoint';

/** `?`: the metrics path may be followed by a query string. */
const QUERY = 0x3f;

/** Where the metrics server listens, once it does. */
export interface MetricsServerAddress {
  port: number;
  host: string;
}

/**
 * The metrics endpoint on a port of its own (option `metrics.port`): a bare `node:http` server
 * that answers `GET`/`HEAD` of the metrics path (bearer token honoured) and 404 to anything else.
 * It does not keep the process alive (unref) and is closed by `shutdown()`.
 *
 * Listening is asynchronous: a port in use is reported as a warning (`LlmscopeWarning`) and by
 * `listening` rejecting, never as an unhandled 'error' event that would crash the app.
 */
export class MetricsServer {
  readonly listening: Promise<MetricsServerAddress>;
  private readonly server: Server;

  /** @param handle - the metrics handler (`Llmscope.handleMetrics`): status, headers and body for an `Authorization` header */
  constructor(handle: (authorization: string | undefined, accept: string | undefined) => Promise<HandlerResponse>, path: string, port: number, host: string | undefined) {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '/';
      const method = req.method;
      const isPath = url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === QUERY);
      if (isPath && (method === 'GET' || method === 'HEAD')) {
        handle(req.headers.authorization, req.headers.accept).then((r) => {
          if (res.headersSent || res.destroyed) return;
          res.statusCode = r.status;
          for (const name in r.headers) res.setHeader(name, r.headers[name] as string);
          res.setHeader('content-length', Buffer.byteLength(r.body));
          res.end(method === 'HEAD' ? undefined : r.body);
        }, () => {
          // The handler does not reject; this guards the write itself.
          if (!res.headersSent && !res.destroyed) {
            res.statusCode = 500;
            res.end();
          }
        });
        return;
      }
      res.statusCode = isPath ? 405 : 404;
      if (isPath) res.setHeader('allow', 'GET, HEAD');
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(isPath ? 'Method Not Allowed\n' : `Not Found: metrics are served at ${path}\n`);
    });
    this.server.unref();
    this.listening = new Promise((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        const where = `${host ?? 'all interfaces'} port ${port}`;
        const reason = error.code === 'EADDRINUSE' ? 'the port is in use (another process, or another llmscope instance with the same `metrics.port`)' : error.message;
        const message = `llmscope: cannot serve metrics on ${where}: ${reason}. Metrics are still recorded; choose another \`metrics.port\`.`;
        process.emitWarning(message, 'LlmscopeWarning');
        reject(new Error(message, { cause: error }));
      });
      this.server.listen(port, host, () => {
        const address = this.server.address() as AddressInfo;
        resolve({ port: address.port, host: address.address });
      });
    });
    // Reported by the warning; a caller that awaits `listening` gets the rejection too.
    this.listening.catch(() => undefined);
    // Later errors (a socket failing) must not crash the app.
    this.server.on('error', () => undefined);
  }

  /** Stops listening and closes open connections (keep-alive scrapers included). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
