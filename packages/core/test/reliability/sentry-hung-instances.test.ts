/**
 * Nothing kept after shutdown with a Sentry that accepts and never answers (issue 18 item 6):
 * Sentry's transport never ends a request by itself, so before the fix each closed instance kept
 * its connections to Sentry (and the envelopes in them) for as long as the process lived.
 */
import { Registry } from 'prom-client';
import { createLlmscope } from '@llmscope/core';
import { SentryServer } from '@llmscope/testkit';

/** Ref'd sockets and servers by type (timers left out: see test/reliability/instances.test.ts). */
function sockets(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Timeout' && r !== 'Immediate') counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

function more(before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(sockets()).filter(([type, n]) => n > (before[type] ?? 0)));
}

test('closed instances leave no connection to a Sentry that never answers', async () => {
  const sentry = await new SentryServer({ mode: 'hang' }).start();
  try {
    const before = sockets();
    for (let i = 0; i < 8; i++) {
      // A minute of export timeout: only the close can end what is in flight.
      const llmscope = createLlmscope({
        metrics: { defaultMetrics: false, registry: new Registry() },
        exporters: { sentry: { dsn: `http://${sentry.publicKey}@127.0.0.1:${sentry.port}/${sentry.projectId}` }, queue: { exportTimeoutMs: 60000 }, failureLogIntervalMs: 3600000 },
        tracing: { printTraces: false },
        shutdownOnSignal: false,
        shutdownTimeoutMs: 300,
      });
      // Failed steps are reported to Sentry: 5 events in flight, never answered.
      for (let r = 0; r < 5; r++) await llmscope.step('hung', async () => { throw new Error(`hung sentry ${i}.${r}`); }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await llmscope.shutdown();
    }
    expect(sentry.requestCount).toBeGreaterThan(0);
    // The client sides close at once, the server sides a moment later.
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && Object.keys(more(before)).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(more(before)).toEqual({});
  } finally {
    await sentry.close();
  }
}, 60000);
