/**
 * The server side of a benchmark process: announces its port to the orchestrator over IPC
 * and answers CPU / memory samples, so that CPU time per request is measured inside the server.
 */
export interface ServerMessage {
  type: 'ready' | 'sample';
  port?: number;
  cpu?: NodeJS.CpuUsage;
  memory?: NodeJS.MemoryUsage;
}

export type OrchestratorMessage = { type: 'sample'; gc?: boolean } | { type: 'exit' };

export function serve(listen: () => Promise<number>): void {
  listen().then((port) => {
    process.send?.({ type: 'ready', port } satisfies ServerMessage);
  }, (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
  process.on('message', (m: OrchestratorMessage) => {
    if (m.type === 'exit') process.exit(0);
    if (m.type === 'sample') {
      if (m.gc && typeof global.gc === 'function') global.gc();
      process.send?.({ type: 'sample', cpu: process.cpuUsage(), memory: process.memoryUsage() } satisfies ServerMessage);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** The variant this process runs, from the environment. */
export function variant(): string {
  return process.env.BENCH_VARIANT ?? 'bare';
}

/** Where "full" configurations export their spans (a local OTLP sink, or a dead port for the soak). */
export function otlpUrl(): string {
  return process.env.BENCH_OTLP_URL ?? 'http://127.0.0.1:1/v1/traces';
}
