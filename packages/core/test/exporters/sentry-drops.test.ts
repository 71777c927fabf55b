import { SentryServer, find, parseMetrics, waitFor, type Reply } from '@llmscope/testkit';
import { ragApp, type RagApp } from './exporter-app';

// Every Sentry event llmscope cannot deliver is counted in
// llmscope_telemetry_dropped_total{exporter="sentry"}, exactly once, whichever road it took out of
// Sentry's transport: its own client's or the app's.

/** A Sentry that answers 429 without a Retry-After: Sentry's transport then backs off for 60 s. */
class RateLimitingSentry extends SentryServer {
  protected override handle(): Reply {
    return { status: 429, body: { detail: 'rate limited' } };
  }
}

/** An app whose `GET /fails` ends in a 500: one Sentry event each (distinct messages, no dedupe). */
async function failingApp(dsn: string | undefined, queue: { maxQueueSize: number; exportTimeoutMs: number }): Promise<RagApp> {
  let n = 0;
  return ragApp({
    metrics: { defaultMetrics: false },
    shutdownOnSignal: false,
    exporters: { sentry: dsn === undefined ? {} : { dsn }, queue: { ...queue, maxBatchSize: queue.maxQueueSize }, failureLogIntervalMs: 3600000 },
  }, (a) => {
    a.get('/fails', () => {
      throw new Error(`failure #${++n}`);
    });
  });
}

async function dropped(app: RagApp): Promise<number> {
  return find(parseMetrics((await app.mw.llmscope.handleMetrics(undefined)).body), 'llmscope_telemetry_dropped_total', { exporter: 'sentry' })[0]?.value ?? 0;
}

/** Polls the counter until it reaches `count` (30 s at most); returns what it read last. */
async function droppedReaches(app: RagApp, count: number): Promise<number> {
  const deadline = Date.now() + 30000;
  let value = await dropped(app);
  while (value < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await dropped(app);
  }
  return value;
}

/** Runs `run` against a failing app, then shuts llmscope down (within 1 s) and closes the app. */
async function withFailingApp(dsn: string | undefined, exportTimeoutMs: number, run: (app: RagApp) => Promise<void>): Promise<void> {
  const app = await failingApp(dsn, { maxQueueSize: 20, exportTimeoutMs });
  try {
    await run(app);
  } finally {
    await app.mw.llmscope.shutdown(1000);
    await app.close();
  }
}

async function fail(app: RagApp, times: number): Promise<void> {
  const statuses = await Promise.all(Array.from({ length: times }, async () => (await fetch(`${app.url}/fails`)).status));
  expect(statuses).toEqual(Array(times).fill(500));
}

/** A port nothing listens on: a Sentry server started, then closed. */
async function deadDsn(): Promise<string> {
  const server = await new SentryServer().start();
  const dsn = server.dsn;
  await server.close();
  return dsn;
}

describe('llmscope\'s own Sentry client: every event not delivered is counted', () => {
  test('a Sentry that never answers: each request is ended at the timeout, so the 31st event onwards still reaches it (Sentry\'s agent holds 30 sockets) and the 65th onwards is not skipped uncounted (its buffer holds 64)', async () => {
    const server = await new SentryServer({ mode: 'hang' }).start();
    try {
      await withFailingApp(server.dsn, 300, async (app) => {
        // Waves no bigger than the cap, each given up before the next: the cap drops nothing.
        for (let wave = 1; wave <= 4; wave++) {
          await fail(app, 20);
          expect(await droppedReaches(app, 20 * wave)).toBe(20 * wave);
        }
        await waitFor(() => server.requestCount >= 80, 30000, '80 envelopes at the server');
        expect(server.requestCount).toBe(80);
        expect(await dropped(app)).toBe(80);
      });
    } finally {
      await server.close();
    }
  }, 120000);

  test('a Sentry that asks to back off (429): the 429 and every event Sentry\'s transport then skips are counted', async () => {
    const server = await new RateLimitingSentry().start();
    try {
      await withFailingApp(server.dsn, 5000, async (app) => {
        await fail(app, 1);
        expect(await droppedReaches(app, 1)).toBe(1);
        await fail(app, 4);
        expect(await droppedReaches(app, 5)).toBe(5);
        expect(server.requestCount).toBe(1);
      });
    } finally {
      await server.close();
    }
  }, 60000);

  test('a dead Sentry (connection refused): every event counted', async () => {
    await withFailingApp(await deadDsn(), 5000, async (app) => {
      await fail(app, 5);
      expect(await droppedReaches(app, 5)).toBe(5);
    });
  }, 60000);

  test('shutdown while events are in flight to a Sentry that never answers: counted when shutdown returns, not again at their timeout', async () => {
    const server = await new SentryServer({ mode: 'hang' }).start();
    const app = await failingApp(server.dsn, { maxQueueSize: 20, exportTimeoutMs: 1500 });
    try {
      await fail(app, 3);
      await waitFor(() => server.requestCount >= 3, 30000, '3 envelopes at the server');
      expect(await dropped(app)).toBe(0);
      await app.mw.llmscope.shutdown(200);
      expect(await dropped(app)).toBe(3);
      // Past the export timeout: nothing counted twice.
      await new Promise((r) => setTimeout(r, 2000));
      expect(await dropped(app)).toBe(3);
    } finally {
      await app.close();
      await server.close();
    }
  }, 60000);
});

describe('the app\'s Sentry client (Sentry.init() by the app): llmscope\'s events not delivered are counted', () => {
  async function withAppClient(dsn: string, run: () => Promise<void>): Promise<void> {
    const Sentry = await import('@sentry/node');
    const client = new Sentry.NodeClient({ dsn, transport: Sentry.makeNodeTransport, stackParser: Sentry.defaultStackParser, integrations: [], enableRuntimeChannelInjection: false });
    Sentry.setCurrentClient(client);
    client.init();
    try {
      await run();
    } finally {
      await client.close(500);
      Sentry.setCurrentClient(undefined as never);
    }
  }

  test('a dead Sentry: the client answers without a status, counted', async () => {
    await withAppClient(await deadDsn(), async () => {
      await withFailingApp(undefined, 5000, async (app) => {
        await fail(app, 5);
        expect(await droppedReaches(app, 5)).toBe(5);
      });
    });
  }, 60000);

  test('a Sentry that asks to back off (429): the 429 and the events the app\'s transport then skips are counted', async () => {
    const server = await new RateLimitingSentry().start();
    try {
      await withAppClient(server.dsn, async () => {
        await withFailingApp(undefined, 5000, async (app) => {
          await fail(app, 1);
          expect(await droppedReaches(app, 1)).toBe(1);
          await fail(app, 4);
          expect(await droppedReaches(app, 5)).toBe(5);
          expect(server.requestCount).toBe(1);
        });
      });
    } finally {
      await server.close();
    }
  }, 60000);

  test('shutdown while llmscope\'s events are in flight to a Sentry that never answers: counted when shutdown returns', async () => {
    const server = await new SentryServer({ mode: 'hang' }).start();
    try {
      await withAppClient(server.dsn, async () => {
        const app = await failingApp(undefined, { maxQueueSize: 20, exportTimeoutMs: 60000 });
        try {
          await fail(app, 3);
          await waitFor(() => server.requestCount >= 3, 30000, '3 envelopes at the server');
          expect(await dropped(app)).toBe(0);
          await app.mw.llmscope.shutdown(200);
          expect(await dropped(app)).toBe(3);
        } finally {
          await app.close();
        }
      });
    } finally {
      await server.close();
    }
  }, 60000);
});
