/**
 * Opt-in: on each of `signals`, run `shutdown()` (which flushes telemetry within its timeout),
 * then let the signal do what it would have done. Adding a listener turns off Node's default
 * "exit on SIGTERM"; so once flushed, if nobody else listens, the signal is raised again with
 * our listener removed, and the process ends as it would have without llmscope. When the app
 * has its own listener (a graceful HTTP close), that listener stays in charge of exiting.
 *
 * @returns a function that removes the hook
 */
export function installSignalHook(signals: readonly NodeJS.Signals[], shutdown: () => Promise<void>): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const remove = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of signals) {
    const handler = (): void => {
      remove();
      shutdown()
        .catch(() => undefined)
        .finally(() => {
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
    };
    handlers.set(signal, handler);
    process.once(signal, handler);
  }
  return remove;
}
