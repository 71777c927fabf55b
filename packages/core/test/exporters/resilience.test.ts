import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LangfuseServer, OtlpReceiver, SentryServer, find, parseMetrics, load, memoryLogger, type FaultMode } from '@llmscope/testkit';
import { ragApp, type RagApp } from './exporter-app';

// A real GC between heap samples, so that growth means retained memory, not garbage.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const REQUESTS = 2000;
const CONCURRENCY = 8;
// Every 10th request fails with a 500, so that Sentry has events to send.
const pathFor = (i: number): string => (i % 10 === 9 ? '/thrower' : 'POST /chat/1');

type Scenario = 'down' | Exclude<FaultMode, 'ok' | 'slow'>;

describe('telemetry never hurts the app', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  // The same app with no exporter, kept open for the whole file: each test measures its p99 right
  // before its own run, so that the bound follows what this (shared, loaded) machine gives a
  // request at that moment, not what it gave a minute earlier.
  let bare: RagApp;
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    bare = await ragApp({ metrics: { defaultMetrics: false }, exporters: false }, (a) => {
      a.get('/thrower', () => {
        throw new Error('handler failed');
      });
    });
    await load(bare.url, 200, CONCURRENCY, pathFor);
  }, 60000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await bare.mw.llmscope.shutdown();
    await bare.close();
  });

  test.each<[Scenario]>([['down'], ['hang'], ['fail']])('every backend %s: 2000 requests succeed, p99 within 3× the no-exporter p99 measured alongside (200 ms floor), heap bounded, drops counted, failures logged once', async (scenario) => {
    // "down": the servers are started for their URLs, then closed (connection refused).
    const mode: FaultMode = scenario === 'down' ? 'ok' : scenario;
    const otlp = await new OtlpReceiver({ mode, hangMs: 10000 }).start();
    const langfuse = await new LangfuseServer({ mode, hangMs: 10000 }).start();
    const sentry = await new SentryServer({ mode, hangMs: 10000 }).start();
    const urls = { otlp: otlp.tracesUrl, langfuse: langfuse.url, dsn: sentry.dsn };
    if (scenario === 'down') await Promise.all([otlp.close(), langfuse.close(), sentry.close()]);
    const { logger, lines } = memoryLogger();
    let app: RagApp | undefined;
    try {
      app = await ragApp({
        metrics: { defaultMetrics: false },
        logging: { logger, requests: false, llmCalls: false },
        exporters: {
          // "Logged once per interval": an interval longer than the test, which can pass the
          // default 60 s on a loaded machine (and then rightly logs a second line).
          failureLogIntervalMs: 600000,
          otlp: { url: urls.otlp },
          langfuse: { publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: urls.langfuse },
          sentry: { dsn: urls.dsn },
          // Small batches, sent often: the exporters are busy failing for the whole run.
          // A 2 s export budget: the OTLP exporter's own retries (connection refused is retryable)
          // stay within it, so nothing lingers long after the test.
          queue: { maxQueueSize: 1000, maxBatchSize: 100, scheduledDelayMs: 50, exportTimeoutMs: 2000 },
        },
      }, (a) => {
        let n = 0;
        a.get('/thrower', () => {
          // A distinct message each time: Sentry's dedupe would otherwise send only the first.
          throw new Error(`handler failed #${++n}`);
        });
      });
      const url = app.url;
      await load(url, 200, CONCURRENCY, pathFor); // warm-up: JIT, sockets, metric children
      const before = (await load(bare.url, REQUESTS / 2, CONCURRENCY, pathFor)).p99;
      const heapBefore = heapAfterGc();
      const result = await load(url, REQUESTS, CONCURRENCY, pathFor);
      const heapAfter = heapAfterGc();
      // Measured before and after: the load of a shared machine changes during the run (2.8x
      // was seen against the "before" figure alone), the larger of the two is what it gave then.
      const baselineP99 = Math.max(before, (await load(bare.url, REQUESTS / 2, CONCURRENCY, pathFor)).p99);

      expect(result.statuses.get(200)).toBe(REQUESTS * 9 / 10);
      expect(result.statuses.get(500)).toBe(REQUESTS / 10);
      // Telemetry failing must not show in the app's latency: within 3× the p99 of the same load
      // without exporters, measured around it (a 200 ms floor for the noise of a fast machine).
      // Absolute figures are the benchmark's job (npm run bench), not a test's.
      expect(result.p99).toBeLessThan(Math.max(200, 3 * baselineP99));
      const growthMb = (heapAfter - heapBefore) / 1024 / 1024;
      expect(growthMb).toBeLessThan(20);

      const samples = parseMetrics((await app.mw.llmscope.handleMetrics(undefined)).body);
      const dropped = (exporter: string): number => find(samples, 'llmscope_telemetry_dropped_total', { exporter })[0]?.value ?? 0;
      expect(dropped('otlp')).toBeGreaterThan(0);
      expect(dropped('langfuse')).toBeGreaterThan(0);
      expect(dropped('sentry')).toBeGreaterThan(0);
      const failureLines = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('exporter is failing'));
      const byExporter = new Map<string, number>();
      for (const l of failureLines) byExporter.set(String(l.exporter), (byExporter.get(String(l.exporter)) ?? 0) + 1);
      // Logged, but at most once per interval per exporter.
      for (const count of byExporter.values()) expect(count).toBe(1);
      expect(byExporter.size).toBeGreaterThan(0);
      process.stdout.write(`[resilience] backends ${scenario} (no-exporter p99 ${baselineP99.toFixed(1)} ms): p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms, heap growth ${growthMb.toFixed(1)} MB, dropped otlp=${dropped('otlp')} langfuse=${dropped('langfuse')} sentry=${dropped('sentry')}\n`);

      // Shutdown with hanging backends still returns within its budget (1 s; the margin is for a
      // loaded machine: a hanging backend would hold it 10 s).
      const started = Date.now();
      await app.mw.llmscope.shutdown(1000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(unhandled).toEqual([]);
    } finally {
      await app?.close();
      await Promise.all([otlp.close(), langfuse.close(), sentry.close()]);
    }
  // 3000 requests: 23-35 s alone on a loaded 2-core machine, up to ~115 s beside other test
  // workers (a full run); Jest's 30 s default timed them out.
  }, 300000);
});
