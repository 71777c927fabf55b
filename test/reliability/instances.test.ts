/**
 * Nothing kept after shutdown (issue 18 item 6): the load-and-fault matrix starts and closes 54
 * apps in one process, tests and worker pools do the same. Per adapter, instances are created,
 * serve a few requests and are closed one after the other, all with the same app registry
 * (`metrics.registry`, as an app passing prom-client's `register` does), budgets, a tracked
 * queue, tail sampling and the OTLP exporter (so the SIGTERM hook is on). Once closed and
 * collected, no instance, no budget and no queue callback of the app may survive (weakly
 * referenced; the latest one aside), no process listener, timer or socket may be left, and the heap after GC stays flat.
 */
import { Agent, request } from 'node:http';
import { Registry } from 'prom-client';
import { step, traceLLM, trackQueueDepth } from '@llmscope/core';
import { getContext } from '@llmscope/core/adapter';
import { OtlpReceiver } from '@llmscope/testkit';
import { adapters } from './apps';
import { heapAfterGc } from './heap';

const INSTANCES = 24;
const EVENTS = ['SIGTERM', 'SIGINT', 'beforeExit', 'exit', 'uncaughtException', 'unhandledRejection', 'warning'] as const;

function listenerCounts(): Record<string, number> {
  return Object.fromEntries(EVENTS.map((e) => [e, process.listenerCount(e)]));
}

/**
 * Ref'd sockets and servers by type. Timers are left out: a timer of the exporters' libraries
 * may still be pending for a few seconds after a close (a retry, an export timeout), and is gone after.
 */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Timeout' && r !== 'Immediate') counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Handle types with more handles now than in `before`. */
function moreHandles(before: Record<string, number>): Record<string, number> {
  const now = handles();
  return Object.fromEntries(Object.entries(now).filter(([type, n]) => n > (before[type] ?? 0)));
}

function get(url: string, agent: Agent, id: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/act`, { agent, headers: { 'x-action': String(id) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Lets pending close callbacks and weak-reference bookkeeping run, then collects. */
async function settleAndCollect(): Promise<number> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return heapAfterGc();
}

describe('nothing kept after shutdown', () => {
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    receiver = await new OtlpReceiver().start();
  });

  afterAll(async () => {
    await receiver.close();
  });

  for (const adapter of adapters) {
    it(`${adapter.name}: ${INSTANCES} instances created and closed leave no instance, listener, handle or heap behind`, async () => {
      const registry = new Registry();
      const instances: WeakRef<object>[] = [];
      const budgets: WeakRef<object>[] = [];
      const queueHeld: WeakRef<object>[] = [];
      const listenersBefore = listenerCounts();
      const handlesBefore = handles();
      let heapWarm = 0;
      for (let i = 0; i < INSTANCES; i++) {
        const app = await adapter.start({
          metrics: { defaultMetrics: false, registry },
          budgets: { total: { daily: { usd: 1000 } } },
          exporters: { otlp: { url: `${receiver.url}/v1/traces` }, failureLogIntervalMs: 3600000 },
          tracing: { printTraces: false },
        }, async (id) => {
          // The request's owner is the instance: weakly held, to see whether it outlives its close.
          const owner = getContext()?.owner as { budgets?: object } | undefined;
          if (id === '0' && owner !== undefined) {
            instances.push(new WeakRef(owner));
            if (owner.budgets !== undefined) budgets.push(new WeakRef(owner.budgets));
          }
          await step('retrieve', async () => [id]);
          await traceLLM({ model: 'leak-model', provider: 'leak' }, async () => ({ usage: { input_tokens: 20, output_tokens: 5 } }));
          return { ok: true };
        });
        // An app queue the app never stops tracking: what its callback holds must go with the instance.
        const queue = new Array<number>(20000).fill(i);
        queueHeld.push(new WeakRef(queue));
        trackQueueDepth('jobs', () => queue.length);
        const agent = new Agent({ keepAlive: true });
        for (let r = 0; r < 4; r++) expect(await get(app.url, agent, r)).toBe(200);
        agent.destroy();
        await app.close();
        expect(listenerCounts()).toEqual(listenersBefore);
        if (i === Math.floor(INSTANCES / 3) - 1) heapWarm = await settleAndCollect();
      }
      expect(instances).toHaveLength(INSTANCES);
      const alive = (refs: WeakRef<object>[]): number => refs.filter((r) => r.deref() !== undefined).length;
      // Node's own timers may hold the last request's context a moment: the Date header cache of
      // node:http (reset within 1 s, its timer created inside a request) keeps the async context,
      // and with it the instance, until it fires. Closed sockets leave the handle list likewise.
      const deadline = Date.now() + 10000;
      let heapEnd = await settleAndCollect();
      while (Date.now() < deadline && (alive(instances) + alive(budgets) + alive(queueHeld) > 3 || Object.keys(moreHandles(handlesBefore)).length > 0)) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        heapEnd = await settleAndCollect();
      }
      const report = { instancesAlive: alive(instances), budgetsAlive: alive(budgets), queueCallbacksAlive: alive(queueHeld), heapWarmMb: +(heapWarm / 1048576).toFixed(1), heapEndMb: +(heapEnd / 1048576).toFixed(1), moreHandles: moreHandles(handlesBefore) };
      process.stdout.write(`${adapter.name}: ${JSON.stringify(report)}\n`);
      expect(report.moreHandles).toEqual({});
      // The latest instance only (under Jest it stays referenced after its close, not in a plain
      // Node process); before the fix every budget and queue callback of a shared registry stayed.
      expect(report.instancesAlive).toBeLessThanOrEqual(1);
      expect(report.budgetsAlive).toBeLessThanOrEqual(1);
      expect(report.queueCallbacksAlive).toBeLessThanOrEqual(1);
      // Two thirds of the instances after the warm-up: a leak of one queue array (160 KB) each
      // alone would be 2.5 MB; JIT code and GC noise stay well under 1 MB in this window.
      expect(heapEnd - heapWarm).toBeLessThan(2.5 * 1048576);
    }, 180000);
  }
});
