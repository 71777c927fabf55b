import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { LangfuseServer, OtlpReceiver, SentryServer, find, load, parseMetrics } from '@llmscope/testkit';
import type { Registry } from 'prom-client';
import { ragApp } from './exporter-app';

describe('shutdown', () => {
  test('spans and events still buffered at shutdown all arrive (OTLP, Langfuse, Sentry)', async () => {
    const otlp = await new OtlpReceiver().start();
    const langfuse = await new LangfuseServer().start();
    const sentry = await new SentryServer().start();
    const app = await ragApp({
      metrics: false,
      exporters: {
        otlp: { url: otlp.tracesUrl },
        langfuse: { publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: langfuse.url },
        sentry: { dsn: sentry.dsn },
        // Nothing leaves before shutdown: every span is still buffered when it is called.
        queue: { maxQueueSize: 5000, maxBatchSize: 2000, scheduledDelayMs: 60000 },
      },
    }, (a) => {
      let n = 0;
      a.get('/thrower', () => {
        throw new Error(`failure #${++n}`);
      });
    });
    try {
      const result = await load(app.url, 400, 8, (i) => (i % 8 === 7 ? '/thrower' : 'POST /chat/1'));
      expect(result.statuses.get(200)).toBe(350);
      expect(otlp.spans).toHaveLength(0);
      expect(langfuse.spans).toHaveLength(0);

      await app.mw.llmscope.shutdown(10000);
      // 350 RAG requests × 5 spans + 50 failed requests × 1 span.
      expect(otlp.spans).toHaveLength(350 * 5 + 50);
      expect(new Set(otlp.spans.map((s) => s.spanId)).size).toBe(1800);
      expect(langfuse.spans).toHaveLength(1800);
      expect(sentry.events).toHaveLength(50);
    } finally {
      await app.close();
      await Promise.all([otlp.close(), langfuse.close(), sentry.close()]);
    }
  // 400 requests and 1800 spans through three exporters: generous for a loaded CI machine.
  }, 60000);

  test('when shutdown gives up on a black-holed backend, every span it could not deliver is counted as dropped', async () => {
    // Accepts connections and never answers: the worst backend for a deploy.
    const sockets = new Set<Socket>();
    const hole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const port = (hole.address() as { port: number }).port;
    const app = await ragApp({
      exporters: {
        otlp: { url: `http://127.0.0.1:${port}/v1/traces` },
        langfuse: { publicKey: 'pk-lf-x', secretKey: 'sk-lf-x', baseUrl: `http://127.0.0.1:${port}` },
        // One batch goes out (and hangs), the rest waits in the queue.
        queue: { maxQueueSize: 5000, maxBatchSize: 100, scheduledDelayMs: 60000, exportTimeoutMs: 30000 },
      },
    });
    try {
      const result = await load(app.url, 60, 6, () => 'POST /chat/1');
      expect(result.statuses.get(200)).toBe(60);
      const started = Date.now();
      await app.mw.llmscope.shutdown(1500);
      expect(Date.now() - started).toBeLessThan(10000);
      const samples = parseMetrics(await (app.mw.llmscope.registry as Registry).metrics());
      // 60 RAG requests × 5 spans, each lost by both exporters and counted, none twice.
      expect(find(samples, 'llmscope_telemetry_dropped_total', { exporter: 'otlp' })[0]?.value).toBe(300);
      expect(find(samples, 'llmscope_telemetry_dropped_total', { exporter: 'langfuse' })[0]?.value).toBe(300);
    } finally {
      await app.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  }, 60000);

  test('shutdownOnSignal: true flushes on SIGTERM, then lets SIGTERM end the process', async () => {
    const receiver = await new OtlpReceiver().start();
    let child: ChildProcess | undefined;
    try {
      // tsx as a loader in this node process (its CLI would put a wrapper process in between).
      const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'fixtures', 'sigterm-app.ts')], {
        env: { ...process.env, NODE_OPTIONS: '', RECEIVER_URL: receiver.tracesUrl },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child = proc;
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) resolve();
        });
        proc.on('exit', () => reject(new Error('child exited early')));
      });
      expect(receiver.spans).toHaveLength(0);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
      proc.kill('SIGTERM');
      expect(await exited).toBe('SIGTERM');
      expect(receiver.spans).toHaveLength(50);
    } finally {
      // A failed check must not leave the child running.
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  // A child process started through tsx: seconds on a loaded machine.
  }, 60000);
});
