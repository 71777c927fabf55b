/**
 * One testkit backend of the load-and-fault matrix, in a process of its own (forked by matrix.ts):
 * decoding 36,600 spans a cell is CPU and heap that belong to the backend, not to the app whose
 * p99 and heap the matrix compares across backend states. Argv: backend name (otlp, langfuse,
 * sentry), fault mode (ok, fail, slow, hang). IPC: sends `{ type: 'ready', port, ... }`; answers
 * `{ type: 'count' }` with the telemetry received so far (spans, or Sentry error events); exits
 * on `{ type: 'close' }` or when the parent goes.
 */
import { LangfuseServer, OtlpReceiver, SentryServer, type Backend, type FaultMode } from '@llmscope/testkit';

export interface BackendReady {
  type: 'ready';
  port: number;
  publicKey?: string;
  secretKey?: string;
  projectId?: string;
}

async function main(): Promise<void> {
  const [name, mode] = process.argv.slice(2) as [string, FaultMode];
  const options = { mode, delayMs: 10000 };
  const server = name === 'otlp' ? new OtlpReceiver(options) : name === 'langfuse' ? new LangfuseServer(options) : new SentryServer(options);
  await (server as Backend).start();
  // Counted, then forgotten: the backend keeps no growing list for the length of a cell.
  let count = 0;
  const take = (): number => {
    if (server instanceof SentryServer) {
      count += server.events.length;
      server.envelopes.length = 0;
    } else {
      count += server.spans.length;
      server.spans.length = 0;
    }
    return count;
  };
  const timer = setInterval(take, 1000);
  process.on('message', (m: { type: string }) => {
    if (m.type === 'count') process.send?.({ type: 'count', count: take() });
    if (m.type === 'close') {
      clearInterval(timer);
      void server.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  const ready: BackendReady = {
    type: 'ready',
    port: server.port,
    ...(server instanceof LangfuseServer ? { publicKey: server.publicKey, secretKey: server.secretKey } : {}),
    ...(server instanceof SentryServer ? { publicKey: server.publicKey, projectId: server.projectId } : {}),
  };
  process.send?.(ready);
}

void main();
