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
    // The burst fails together: every request waits in its handler until all `burst` have arrived,
    // so the events reach the cap within one turn of the event loop. Sent concurrently, 20 requests
    // took 2.5 to 7.7 s to arrive on a loaded 2-core machine (6 runs beside two busy loops): the
    // first slots timed out (1 s) mid-burst and were taken again, so up to 18 envelopes reached the
    // server, as the cap allows.
    let burst = 0;
    let arrived = 0;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // maxQueueSize 5: at most 5 Sentry events in flight; exportTimeoutMs: each bounded by 1 s.
    const app = await ragApp({ metrics: { defaultMetrics: false }, exporters: { sentry: {}, queue: { maxQueueSize: 5, maxBatchSize: 5, exportTimeoutMs: 1000 } } }, (a) => {
      a.get('/fails', async () => {
        if (++arrived === burst) release();
        if (arrived <= burst) await gate;
        throw new Error(`failure #${++n}`);
      });
    });
    const dropped = async (): Promise<number> => find(parseMetrics((await app.mw.llmscope.handleMetrics(undefined)).body), 'llmscope_telemetry_dropped_total', { exporter: 'sentry' })[0]?.value ?? 0;
    // Polls the counter (an async read, which testkit's waitFor does not take).
    const droppedReaches = async (count: number): Promise<number> => {
      const deadline = Date.now() + 30000;
      let value = await dropped();
      while (value < count && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        value = await dropped();
      }
      return value;
    };
    try {
      burst = 20;
      const statuses = await Promise.all(Array.from({ length: burst }, async () => (await fetch(`${app.url}/fails`)).status));
      expect(statuses).toEqual(Array(20).fill(500));
      // 5 reach the (hanging) server; the other 15 are dropped before the app's client sees them.
      // Nothing else fails until the test sends the next request: no more than 5 can arrive.
      await waitFor(() => server.requestCount >= 5, 30000, '5 envelopes at the server');
      expect(server.requestCount).toBe(5);
      // 15 dropped at the cap (20 if the 5 already timed out: the machine may be that slow).
      expect(await dropped()).toBeGreaterThanOrEqual(15);
      // At the timeout the 5 in flight are given up (counted), and the slots are free again.
      expect(await droppedReaches(20)).toBe(20);
      expect(server.requestCount).toBe(5);
      expect((await fetch(`${app.url}/fails`)).status).toBe(500);
      await waitFor(() => server.requestCount >= 6, 30000, 'a 6th envelope once the slots were freed');
      expect(server.requestCount).toBe(6);
      // The 6th is held too: given up at its timeout, counted. Awaited before the app's events: a
      // loaded machine took more than its 1 s to send them, and the count then read 21 (1 run of 8).
      expect(await droppedReaches(21)).toBe(21);

      // The app's own events through the same client: not capped by llmscope, not counted (Sentry
      // answering again, so that only the cap could hold them back).
      server.mode = 'ok';
      for (let i = 0; i < 10; i++) client.captureException(new Error(`app event ${i}`));
      await waitFor(() => server.requestCount >= 16, 30000, 'the app\'s 10 events');
      expect(server.requestCount).toBe(16);
      expect(await dropped()).toBe(21);
    } finally {
      await app.mw.llmscope.shutdown(1000);
      await app.close();
      await server.close();
      await client.close(1000);
      Sentry.setCurrentClient(undefined as never);
    }
  }, 120000);
});
