import { SentryServer, find, parseMetrics, waitFor } from '@llmscope/testkit';
import { ragApp } from './exporter-app';

// The cap and timeout llmscope's own Sentry transport has, held when llmscope reports through the
// app's client (Sentry.init() by the app): what llmscope sends is bounded, the app's own events
// are not touched.
describe('Sentry initialised by the app, Sentry not answering', () => {
  test('llmscope keeps at most its cap of events in flight through the app\'s client, drops and counts the rest, frees its slots at the timeout; the app\'s own events are not capped', async () => {
    const server = await new SentryServer({ mode: 'hang' }).start();
    const Sentry = await import('@sentry/node');
    const client = new Sentry.NodeClient({ dsn: server.dsn, transport: Sentry.makeNodeTransport, stackParser: Sentry.defaultStackParser, integrations: [], enableRuntimeChannelInjection: false });
    Sentry.setCurrentClient(client);
    client.init();
    let n = 0;
    // maxQueueSize 5: at most 5 Sentry events in flight; exportTimeoutMs: each bounded by 1 s.
    const app = await ragApp({ metrics: { defaultMetrics: false }, exporters: { sentry: {}, queue: { maxQueueSize: 5, maxBatchSize: 5, exportTimeoutMs: 1000 } } }, (a) => {
      a.get('/fails', () => {
        throw new Error(`failure #${++n}`);
      });
    });
    const dropped = async (): Promise<number> => find(parseMetrics((await app.mw.llmscope.handleMetrics(undefined)).body), 'llmscope_telemetry_dropped_total', { exporter: 'sentry' })[0]?.value ?? 0;
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${app.url}/fails`)).status));
      expect(statuses).toEqual(Array(20).fill(500));
      // 5 reach the (hanging) server; the other 15 are dropped before the app's client sees them.
      await waitFor(() => server.requestCount === 5, 30000, '5 envelopes at the server');
      expect(await dropped()).toBe(15);
      // At the timeout the 5 in flight are given up (counted), and the slots are free again.
      const deadline = Date.now() + 30000;
      while ((await dropped()) < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await dropped()).toBe(20);
      expect((await fetch(`${app.url}/fails`)).status).toBe(500);
      await waitFor(() => server.requestCount === 6, 30000, 'a 6th envelope once the slots were freed');

      // The app's own events through the same client: not capped by llmscope, not counted (Sentry
      // answering again, so that only the cap could hold them back).
      server.mode = 'ok';
      for (let i = 0; i < 10; i++) client.captureException(new Error(`app event ${i}`));
      await waitFor(() => server.requestCount >= 16, 30000, 'the app\'s 10 events');
      expect(await dropped()).toBe(20);
    } finally {
      await app.mw.llmscope.shutdown(1000);
      await app.close();
      await server.close();
      await client.close(1000);
      Sentry.setCurrentClient(undefined as never);
    }
  }, 120000);
});
