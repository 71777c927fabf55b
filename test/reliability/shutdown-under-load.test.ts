/**
 * Graceful shutdown under load (issue 18 item 8): an app under steady concurrent load is closed
 * mid-load, with a live backend (the testkit OTLP receiver). Every span of every request the
 * client saw answered must arrive, counted by trace id (the `x-trace-id` response header). In
 * process for each adapter (`server.close()` and llmscope's shutdown, or the framework's close
 * hook), and through SIGTERM in a child process (llmscope's default signal flush).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { OtlpReceiver } from '@llmscope/testkit';
import { adapters, shutdownWork, type FuzzAdapter } from './apps';

/** Spans per request of the apps below: the server span, a step and an LLM call. */
const SPANS = 3;

interface Load {
  /** Trace ids of the requests answered 200, as the client saw them. */
  answered: string[];
  /** Requests that got no answer (refused or cut once the server closed). */
  failed: number;
  /** When a connection was first refused (`Date.now()`), if one was. */
  firstRefusedAt: number | undefined;
  stop(): Promise<void>;
}

/**
 * `concurrency` clients sending `GET path` back to back (a new connection each, as many
 * load balancers do) until stopped or until the server refuses them.
 */
function steadyLoad(url: string, path: string, concurrency: number): Load {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: false });
  const load: Load = { answered: [], failed: 0, firstRefusedAt: undefined, stop: async () => undefined };
  let running = true;
  const one = (): Promise<boolean> => new Promise((resolve) => {
    const req = request({ host: hostname, port, path, agent, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const id = res.headers['x-trace-id'];
        if (res.statusCode === 200 && typeof id === 'string') load.answered.push(id);
        else load.failed++;
        resolve(true);
      });
      res.on('error', () => {
        load.failed++;
        resolve(false);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') load.firstRefusedAt ??= Date.now();
      load.failed++;
      resolve(false);
    });
    req.end();
  });
  const worker = async (): Promise<void> => {
    while (running) if (!(await one())) break;
  };
  const workers = Promise.all(Array.from({ length: concurrency }, worker));
  load.stop = async () => {
    running = false;
    await workers;
    agent.destroy();
  };
  return load;
}

/** Checks that each answered request's trace has all its spans at the receiver. */
function missingSpans(receiver: OtlpReceiver, answered: string[], perRequest: number): string[] {
  const byTrace = new Map<string, number>();
  for (const s of receiver.spans) byTrace.set(s.traceId, (byTrace.get(s.traceId) ?? 0) + 1);
  return answered.filter((id) => byTrace.get(id) !== perRequest).map((id) => `${id}: ${byTrace.get(id) ?? 0} of ${perRequest}`);
}

describe.each(adapters.map((a) => [a.name, a] as [string, FuzzAdapter]))('closed mid-load: %s', (_name, adapter) => {
  test('every span of every answered request reaches the OTLP receiver', async () => {
    const receiver = await new OtlpReceiver().start();
    try {
      const app = await adapter.start({
        metrics: false,
        shutdownOnSignal: false,
        // Batches wait a minute: whatever is delivered, the close delivered.
        exporters: { otlp: { url: receiver.tracesUrl }, queue: { scheduledDelayMs: 60000, maxQueueSize: 100000, maxBatchSize: 512 } },
      }, () => shutdownWork());
      const load = steadyLoad(app.url, '/act', 16);
      // Mid-load: once a steady stream of requests has been answered.
      const deadline = Date.now() + 30000;
      while (load.answered.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await app.close();
      await load.stop();
      const answered = load.answered;
      process.stdout.write(`[shutdown] ${adapter.name}: ${answered.length} requests answered, ${load.failed} refused or cut after the close, ${receiver.spans.length} spans received\n`);
      expect(answered.length).toBeGreaterThanOrEqual(200);
      expect(new Set(answered).size).toBe(answered.length);
      expect(missingSpans(receiver, answered, SPANS)).toEqual([]);
    } finally {
      await receiver.close();
    }
  }, 120000);
});

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A fixture app in a child process (tsx as loader), its exit, and a wait for what it prints. */
interface ChildApp {
  child: ChildProcessByStdio<null, Readable, null>;
  exited: Promise<Exit>;
  /** Resolves once the child's stdout so far matches `text`; rejects if it exits first. */
  said(text: RegExp): Promise<RegExpExecArray>;
}

function startChild(fixture: string, env: Record<string, string>): ChildApp {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  const waiters = new Set<() => void>();
  // Appended before the waiters look, so a line that arrives in one chunk is seen at once.
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const look of [...waiters]) look();
  });
  const said = (text: RegExp): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    const look = (): void => {
      const m = text.exec(out);
      if (m === null) return;
      waiters.delete(look);
      resolve(m);
    };
    waiters.add(look);
    look();
    void exited.then(() => {
      if (waiters.delete(look)) reject(new Error(`child exited before saying ${text}: ${out}`));
    });
  });
  return { child, exited, said };
}

/**
 * The deploy fixture of the signal tests in a child process: node:http, OTEL_EXPORTER_OTLP_ENDPOINT
 * only, a server span and a `work` step per request, batches held a minute. `default`: nothing
 * but llmscope listens for SIGTERM; `own-handler`: the app's graceful `server.close()` on SIGTERM.
 */
describe.each([['default'], ['own-handler']])('SIGTERM mid-load, app mode %s (a child process, llmscope\'s signal flush)', (mode) => {
  test('every span of every request answered, before the signal and during the flush, reaches the OTLP receiver', async () => {
    const receiver = await new OtlpReceiver().start();
    // From the repository root (Jest's working directory): an ES module test has no __dirname.
    const fixture = join(process.cwd(), 'packages', 'core', 'test', 'fixtures', 'deploy-app.ts');
    expect(existsSync(fixture)).toBe(true);
    const { child, exited, said } = startChild(fixture, { APP_MODE: mode, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const port = Number((await said(/ready (\d+)/))[1]);
      const load = steadyLoad(`http://127.0.0.1:${port}`, '/work', 16);
      const deadline = Date.now() + 30000;
      while (load.answered.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const beforeSignal = load.answered.length;
      child.kill('SIGTERM');
      expect(await exited).toEqual(mode === 'default' ? { code: null, signal: 'SIGTERM' } : { code: 3, signal: null });
      await load.stop();
      const before = load.answered.slice(0, beforeSignal);
      const during = load.answered.slice(beforeSignal);
      const lostDuring = missingSpans(receiver, during, 2).length;
      process.stdout.write(`[shutdown] SIGTERM (${mode}): ${before.length} requests answered before the signal, ${during.length} during the flush (${lostDuring} of them without their spans), ${load.failed} refused or cut, ${receiver.spans.length} spans received\n`);
      expect(before.length).toBeGreaterThanOrEqual(300);
      expect(missingSpans(receiver, before, 2)).toEqual([]);
      // Default mode: llmscope stops the server at the signal, so nothing is answered after the
      // drain (issue 18 item 8; 6 of 97 lost before). Own handler: the app's server.close() does.
      expect(lostDuring).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  }, 120000);
});

/**
 * Every adapter deployed with only `OTEL_EXPORTER_OTLP_ENDPOINT` (sigterm-app.ts): llmscope alone
 * listens for SIGTERM, so it stops the server it has seen requests on before the final flush.
 * With a load that does not stop, no answered request may lose a span (6 of 97 did before), and
 * new connections are refused while a request that was running at the signal still finishes.
 */
describe.each(adapters.map((a) => [a.name]))('SIGTERM mid-load, %s, llmscope alone listening', (name) => {
  test('the server stops taking connections, the running request finishes, every answered request has its spans', async () => {
    const receiver = await new OtlpReceiver().start();
    const fixture = join(process.cwd(), 'test', 'reliability', 'sigterm-app.ts');
    const { child, exited, said } = startChild(fixture, { ADAPTER: name, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const ready = await said(/ready (\d+) (\d+)/);
      expect(ready[2]).toBe('1'); // llmscope's listener, and no other
      const port = Number(ready[1]);
      const load = steadyLoad(`http://127.0.0.1:${port}`, '/act', 16);
      const deadline = Date.now() + 30000;
      while (load.answered.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const slowStarted = said(/started slow/);
      const slow = new Promise<{ status: number; traceId: string | undefined; at: number }>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/act', headers: { 'x-action': 'slow' }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, traceId: res.headers['x-trace-id'] as string | undefined, at: Date.now() }));
        });
        req.on('error', () => resolve({ status: 0, traceId: undefined, at: Date.now() }));
        req.end();
      });
      await slowStarted;
      child.kill('SIGTERM');
      const answer = await slow;
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
      await load.stop();
      process.stdout.write(`[shutdown] SIGTERM (${name}, llmscope alone): ${load.answered.length} requests answered, ${load.failed} refused or cut, first refusal ${load.firstRefusedAt === undefined ? 'none' : `${answer.at - load.firstRefusedAt} ms before the running request's answer`}\n`);
      expect(answer.status).toBe(200);
      // Refused while the process was still serving the request that was running at the signal.
      expect(load.firstRefusedAt).toBeDefined();
      expect(load.firstRefusedAt as number).toBeLessThan(answer.at);
      expect(missingSpans(receiver, [...load.answered, answer.traceId as string], SPANS)).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  }, 120000);
});
