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

import { settleWithin } from '../context/settle';
import { flushTracing } from '../tracing/provider';
import type { ServedServers } from '../http/served-servers';

/** How often the drain looks again whether requests are still running, ms. */
const DRAIN_POLL_MS = 20;

/**
 * What one instance does on a deploy signal, within `timeoutMs` in all: the requests still running
 * when the signal came (an app closing its server gracefully lets them finish; a load balancer
 * takes a moment to stop sending more) are waited for, exporting what their spans enqueue as it
 * comes, until none runs or the drain's time is up; then `shutdown` flushes the rest and stops the
 * exporters. The drain leaves the last quarter of the budget (1 s at most) to that final flush, so
 * that the spans of a request that completes just before the drain ends still go out.
 *
 * When llmscope alone listens for the signal (`serving` given), the servers the instance has seen
 * stop taking requests first (see `ServedServers`): otherwise a load that never stops would keep
 * the drain busy to its end and requests answered during the final flush could lose their spans.
 *
 * @param inFlight requests started and not yet finished, now
 * @param shutdown the instance's shutdown, given the time left
 * @param serving the instance's servers, when no other listener is in charge of stopping them
 */
export async function drainThenShutdown(inFlight: () => number, shutdown: (timeoutMs: number) => Promise<void>, timeoutMs: number, serving?: ServedServers): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const drainUntil = deadline - Math.min(1000, Math.floor(timeoutMs / 4));
  serving?.stop();
  for (;;) {
    const left = drainUntil - Date.now();
    if (left <= 0) break;
    // Exports what is queued now (a batch delay of a minute would otherwise hold it to the end).
    await settleWithin(flushTracing(), left);
    if (inFlight() === 0 || Date.now() >= drainUntil) break;
    serving?.closeIdle();
    await new Promise((r) => setTimeout(r, Math.min(DRAIN_POLL_MS, Math.max(1, drainUntil - Date.now()))));
  }
  serving?.refuse();
  await shutdown(Math.max(1, deadline - Date.now()));
}

/** What an instance does on a signal; `appInCharge` when another listener will stop the app. */
type SignalShutdown = (appInCharge: boolean) => Promise<void>;

/** The instances to flush, by signal. */
const hooked = new Map<NodeJS.Signals, Set<SignalShutdown>>();
/** Our process listener per signal, while at least one instance is hooked on it. */
const listeners = new Map<NodeJS.Signals, () => void>();

function onSignal(signal: NodeJS.Signals): void {
  const shutdowns = [...(hooked.get(signal) ?? [])];
  // Ours is one listener; any other is the app's (or a library's) graceful stop, left in charge.
  const appInCharge = process.listenerCount(signal) > 1;
  // Detach first: a second SIGTERM during the flush gets Node's default (or the app's) behaviour.
  for (const [s, listener] of listeners) process.removeListener(s, listener);
  listeners.clear();
  hooked.clear();
  void Promise.allSettled(shutdowns.map((shutdown) => shutdown(appInCharge))).then(() => {
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/**
 * Hooks `shutdown` (which flushes telemetry within its own timeout and never rejects) to each of
 * `signals`.
 *
 * @returns a function that removes the hook (called by `shutdown()`)
 */
export function installSignalHook(signals: readonly NodeJS.Signals[], shutdown: SignalShutdown): () => void {
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
