/**
 * The HTTP servers an instance has served requests on, so that a deploy signal llmscope alone
 * listens for can stop them taking new requests before the final flush (issue 18 item 8).
 *
 * Without llmscope, a process with no `SIGTERM` listener dies at the signal: its requests in flight
 * are cut, new connections refused. llmscope's listener keeps it alive to flush; if the servers
 * went on accepting during that time, a request answered in the last moments could lose its spans
 * (6 of 97 in one run under a load that never stopped). So when no other listener is in charge:
 * the servers stop listening (`server.close()`), every request that still arrives on an open
 * connection is answered with `Connection: close`, idle keep-alive connections are closed while
 * the drain waits, and once the drain is over a request that still slips in is cut, as the dead
 * process would have cut it. An app with its own signal listener is never touched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from 'node:net';

/** A server as `http.Server` has it (Node ≥ 18.2); other `net.Server`s lack the method. */
interface HttpServerLike extends Server {
  closeIdleConnections?: () => void;
}

/** Dead entries are pruned once the list holds this many (a process rarely serves more). */
const PRUNE_AT = 32;

export class ServedServers {
  /** The last server seen: most processes have one, so the check per request is one comparison. */
  private last: unknown;
  private readonly seen = new WeakSet<Server>();
  /** Weak: a server the app closed and dropped is not kept alive by a long-lived instance. */
  private refs: WeakRef<HttpServerLike>[] = [];
  private refusing = false;

  /**
   * Notes the server behind a framework's request (`req.socket.server`: Express, Node, and
   * Fastify's `request.socket`). Called per request only when the signal hook is installed.
   */
  note(request: unknown): void {
    const server = (request as { socket?: { server?: unknown } } | null | undefined)?.socket?.server;
    if (server === this.last) return;
    this.last = server;
    if (!(server instanceof Server) || this.seen.has(server)) return;
    this.seen.add(server);
    if (this.refs.length >= PRUNE_AT) this.refs = this.refs.filter((ref) => ref.deref() !== undefined);
    this.refs.push(new WeakRef(server));
  }

  /** Stops every noted server from taking new connections; open ones close after their response. */
  stop(): void {
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      // After the drain the process is about to end: cut, as the process without llmscope would.
      if (this.refusing) req.socket.destroy();
      else res.shouldKeepAlive = false;
    };
    for (const server of this.servers()) {
      if (!server.listening) continue;
      server.prependListener('request', onRequest);
      // Node ≥ 19 also closes the idle keep-alive connections here.
      server.close();
    }
  }

  /** Closes the keep-alive connections that became idle since (their last response sent). */
  closeIdle(): void {
    for (const server of this.servers()) server.closeIdleConnections?.();
  }

  /** The drain is over: idle connections close, and a request that still arrives is cut. */
  refuse(): void {
    this.refusing = true;
    this.closeIdle();
  }

  private *servers(): Generator<HttpServerLike> {
    for (const ref of this.refs) {
      const server = ref.deref();
      if (server !== undefined) yield server;
    }
  }
}
