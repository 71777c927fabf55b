import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 and a random port. */
export interface Listening {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves `handler` (a Node request listener, an Express app, ...) on 127.0.0.1 and a random port. */
export async function listen(handler: RequestListener): Promise<Listening> {
  const server = createServer(handler);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The first port of the kernel's ephemeral range (Linux's default when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Whether `port` can be bound on 127.0.0.1 now (it is closed again before this resolves). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 free now, for a child process (a Prometheus server) to bind a moment later.
 * Drawn at random below the kernel's ephemeral range: a port from `listen(0)` is in that range,
 * and so is every outgoing connection's, so the servers and clients of tests running in parallel
 * cannot take it in between (they did: "bind: address already in use" in CI).
 */
export async function portForChild(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port found between 10000 and ${low} on 127.0.0.1 in 100 tries`);
}
