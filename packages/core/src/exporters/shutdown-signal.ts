/**
 * Flush on SIGTERM / SIGINT (on by default when an exporter is configured: every rolling deploy
 * sends SIGTERM, and the spans still buffered would otherwise be lost), then let the signal do
 * what it would have done.
 *
 * One process-wide listener per signal, shared by every instance that asked for it: a process
 * with several instances (tests, a worker pool) adds no listener per instance, so Node's
 * max-listeners warning never fires because of llmscope.
 *
 * Adding a listener turns off Node's default "exit on SIGTERM". So once every instance has
 * flushed (each within its `shutdownTimeoutMs`), if nobody else listens, the signal is raised
 * again with our listener removed, and the process ends as it would have without llmscope (the
 * parent sees exit code null and the signal). When the app has its own listener (a graceful
 * `server.close()`), that listener stays in charge of exiting: we only flush.
 */

/** The instances to flush, by signal. */
const hooked = new Map<NodeJS.Signals, Set<() => Promise<void>>>();
/** Our process listener per signal, while at least one instance is hooked on it. */
const listeners = new Map<NodeJS.Signals, () => void>();

function onSignal(signal: NodeJS.Signals): void {
  const shutdowns = [...(hooked.get(signal) ?? [])];
  // Detach first: a second SIGTERM during the flush gets Node's default (or the app's) behaviour.
  for (const [s, listener] of listeners) process.removeListener(s, listener);
  listeners.clear();
  hooked.clear();
  void Promise.allSettled(shutdowns.map((shutdown) => shutdown())).then(() => {
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/**
 * Hooks `shutdown` (which flushes telemetry within its own timeout and never rejects) to each of
 * `signals`.
 *
 * @returns a function that removes the hook (called by `shutdown()`)
 */
export function installSignalHook(signals: readonly NodeJS.Signals[], shutdown: () => Promise<void>): () => void {
  for (const signal of signals) {
    let set = hooked.get(signal);
    if (set === undefined) hooked.set(signal, (set = new Set()));
    set.add(shutdown);
    if (!listeners.has(signal)) {
      const listener = (): void => onSignal(signal);
      listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }
  return () => {
    for (const signal of signals) {
      const set = hooked.get(signal);
      if (set === undefined) continue;
      set.delete(shutdown);
      if (set.size > 0) continue;
      hooked.delete(signal);
      const listener = listeners.get(signal);
      if (listener !== undefined) process.removeListener(signal, listener);
      listeners.delete(signal);
    }
  };
}

/** Whether llmscope listens on `signal` now (for tests and diagnostics). */
export function signalHooked(signal: NodeJS.Signals): boolean {
  return listeners.has(signal);
}
