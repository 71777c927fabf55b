/**
 * Property-based fuzzing of what app code hands llmscope (issue 18 item 2), inside real requests
 * of each adapter: `tag()`, `setUser()`, `setSession()` and `traceLLM()` results with hostile
 * values, and the real openai SDK (instrumented) against the testkit LLM server answering
 * malformed usage, streams the app abandons, aborts or throws out of. The oracle for the SDK is
 * the same call made by a bare (uninstrumented) client against the same script: the app must see
 * exactly what it would have seen without llmscope.
 */
import fc from 'fast-check';
import OpenAI from 'openai';
import { instrumentOpenAI, setSession, setUser, tag, traceLLM } from '@llmscope/core';
import { LlmServer, find, parseMetrics, type ScriptedUsage } from '@llmscope/testkit';
import { adapters, type FuzzAdapter, type FuzzApp } from './apps';
import { heapAfterGc } from './heap';
import { checkedLogger, type CheckedLogger } from './log-lines';

const RUNS = Number(process.env.LLMSCOPE_FUZZ_RUNS ?? 40);
/** Cap on the samples of `/metrics` (default metrics off) after the fuzzing of one app. */
const SERIES_CAP = 400;

/** What one request's handler does: hostile values into llmscope's API, then an optional SDK call. */
interface Action {
  tags: Array<[unknown, unknown]>;
  user: unknown;
  session: unknown;
  /** What the app's own `traceLLM` callback returns as its result (usage included). */
  result: unknown;
  sdk?: { usage: ScriptedUsage | false; stream?: { mode: 'complete' | 'break' | 'abort' | 'throw'; at: number } };
}

/** Gives a bomb a name for fast-check's reports (which would otherwise set it off). */
function named<T extends object>(name: string, value: T): T {
  return Object.defineProperty(value, fc.toStringMethod, { value: () => name });
}

/** Values with a hostile side: throwing getters and toString, proxies, symbols, huge strings, newlines. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true, withTypedArray: true, withSparseArray: true, key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf')) }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, -1, 1e21, Symbol('s'), () => 'fn', null, undefined, '', 'a\nb', 'line\r\n{"level":60}', '\u2028\u2029', '\ud800'),
  fc.nat({ max: 200000 }).map((n) => 'x'.repeat(n)),
  fc.constant(named('toString bomb', { toString() { throw new Error('toString bomb'); }, valueOf() { throw new Error('valueOf bomb'); } })),
  fc.constant(new Proxy({}, {
    // Symbol keys answer (fast-check's and Jest's reports of a counterexample ask for its name
    // and its tag); every property read throws.
    get(_target, key) {
      if (key === fc.toStringMethod) return () => 'proxy bomb';
      if (typeof key === 'symbol') return undefined;
      throw new Error('proxy bomb');
    },
    ownKeys() { throw new Error('proxy bomb'); },
    getPrototypeOf() { throw new Error('proxy bomb'); },
  })),
  fc.constant(named('getter bomb', Object.defineProperty({}, 'input_tokens', { enumerable: true, get() { throw new Error('getter bomb'); } }))),
);

/** A token count as an SDK result could carry it: negative, NaN, a string, missing, huge. */
const count: fc.Arbitrary<unknown> = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double(), fc.string({ maxLength: 8 }), fc.constantFrom(null, undefined, '12', 'NaN', 1e308, 2 ** 53 + 1), hostile);
const usage: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ input_tokens: count, output_tokens: count, prompt_tokens: count, completion_tokens: count, total_tokens: count, cache_read_input_tokens: count }, { requiredKeys: [] }),
  hostile,
);
const result = fc.oneof(fc.record({ usage, model: hostile, id: hostile }, { requiredKeys: [] }), hostile);

/** Usage as the LLM server sends it on the wire (JSON: no NaN; strings, negatives, floats, huge). */
const wireCount = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 6 }), fc.constantFrom(null, 1e300, 'NaN')) as fc.Arbitrary<number>;
const wireUsage: fc.Arbitrary<ScriptedUsage | false> = fc.oneof(
  fc.constant(false as const),
  fc.record({ input: wireCount, output: wireCount, cacheRead: wireCount, reasoning: wireCount }, { requiredKeys: [] }),
);

const action: fc.Arbitrary<Action> = fc.record({
  tags: fc.array(fc.tuple(hostile, hostile), { maxLength: 6 }),
  user: hostile,
  session: hostile,
  result,
  sdk: fc.option(fc.record({
    usage: wireUsage,
    stream: fc.option(fc.record({ mode: fc.constantFrom('complete' as const, 'break' as const, 'abort' as const, 'throw' as const), at: fc.nat({ max: 5 }) }), { nil: undefined }),
  }, { requiredKeys: ['usage'] }), { nil: undefined }),
}, { requiredKeys: ['tags', 'user', 'session', 'result'] });

/** How a callback ended: its value, or the message of what it threw. */
async function outcome(fn: () => Promise<unknown>): Promise<{ value?: unknown; error?: string }> {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : 'a non-Error' };
  }
}

/** The app's own error, thrown out of a stream loop: it must come back to the app as itself. */
class AppStreamError extends Error {}

/**
 * What the app does with the SDK, and what it answers: the answer's content and usage as the
 * SDK gave them (the id and timestamp differ per answer), or what a stream yielded and how it ended.
 */
async function callSdk(client: OpenAI, sdk: NonNullable<Action['sdk']>): Promise<unknown> {
  if (sdk.stream === undefined) {
    const completion = await client.chat.completions.create({ model: 'fuzz-model', messages: [{ role: 'user', content: 'hi' }] });
    return { choices: completion.choices, usage: completion.usage ?? null };
  }
  const { mode, at } = sdk.stream;
  const abort = new AbortController();
  const texts: string[] = [];
  let ended = 'complete';
  try {
    const stream = await client.chat.completions.create({ model: 'fuzz-model', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }, { signal: abort.signal });
    for await (const chunk of stream) {
      texts.push(chunk.choices[0]?.delta?.content ?? `usage:${JSON.stringify(chunk.usage ?? null)}`);
      if (texts.length > at) {
        if (mode === 'break') {
          ended = 'break';
          break;
        }
        if (mode === 'abort') abort.abort();
        if (mode === 'throw') throw new AppStreamError('app gave up');
      }
    }
  } catch (error) {
    ended = error instanceof AppStreamError ? 'app-error' : `sdk-error:${(error as Error).constructor.name}`;
  }
  return { texts, ended };
}

describe.each(adapters.map((a) => [a.name, a] as [string, FuzzAdapter]))('fuzzed app code: %s', (_name, adapter) => {
  let app: FuzzApp;
  let llm: LlmServer;
  let log: CheckedLogger;
  let bare: OpenAI;
  const actions = new Map<string, Action>();
  /** Errors llmscope threw into the app's code (must stay empty). */
  const thrown: unknown[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  let next = 0;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    llm = await LlmServer.start();
    llm.defaults = { chunks: 4 };
    log = checkedLogger();
    bare = new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 });
    const instrumented = instrumentOpenAI(new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 }));
    const guard = (fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        thrown.push(error);
      }
    };
    app = await adapter.start({ metrics: { defaultMetrics: false }, logging: { logger: log.logger, captureContent: true } }, async (id) => {
      const a = actions.get(id);
      if (a === undefined) return { missing: id };
      for (const [k, v] of a.tags) guard(() => tag(k, v));
      guard(() => setUser(a.user));
      guard(() => setSession(a.session));
      // The handler's intent: what its own async callback gives without llmscope (an async
      // function returning a proxy that throws on \`then\` rejects by itself, for instance).
      const intent = await outcome(async () => a.result);
      const got = await outcome(() => traceLLM({ model: 'fuzz-model', provider: 'fuzz' }, async () => a.result));
      if (got.error !== intent.error) thrown.push(new Error(`traceLLM: ${got.error} (without llmscope: ${intent.error})`));
      return { same: Object.is(got.value, intent.value), sdk: a.sdk === undefined ? null : await callSdk(instrumented, a.sdk) };
    });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await app?.close();
    await llm?.close();
  });

  async function run(a: Action): Promise<void> {
    thrown.length = 0;
    const id = String(next++);
    actions.set(id, a);
    if (a.sdk !== undefined) llm.enqueue({ usage: a.sdk.usage }, { usage: a.sdk.usage });
    const res = await fetch(`${app.url}/act`, { headers: { 'x-action': id } });
    actions.delete(id);
    expect(res.status).toBe(200);
    const body = await res.json() as { same: boolean; sdk: unknown };
    expect(body.same).toBe(true);
    // The bare client against the second copy of the script: what the app would have seen.
    expect(body.sdk).toEqual(a.sdk === undefined ? null : JSON.parse(JSON.stringify(await callSdk(bare, a.sdk))));
    expect(thrown.map((e) => (e instanceof Error ? e.stack : String(e)))).toEqual([]);
  }

  test('hostile tags, users, sessions, LLM results, SDK usage and streams: the app answers what its handler intends, nothing thrown into it', async () => {
    await fc.assert(fc.asyncProperty(action, run), { numRuns: RUNS });
  }, 120000);

  test(`after the fuzzing: fewer than ${SERIES_CAP} samples in /metrics, token counters finite and not negative, one line per log record`, async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    const samples = parseMetrics(await res.text());
    expect(samples.length).toBeLessThan(SERIES_CAP);
    for (const s of find(samples, 'llmscope_llm_tokens_total')) {
      expect(Number.isFinite(s.value)).toBe(true);
      expect(s.value).toBeGreaterThanOrEqual(0);
    }
    expect(log.broken).toEqual([]);
    expect(log.count()).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
    process.stdout.write(`[fuzz-app] ${adapter.name}: ${samples.length} samples in /metrics, ${log.count()} log lines\n`);
  });

  if (adapter.name === 'express') {
    test('regressions found by the fuzzing: a result whose usage getter throws, and counts past 2^53, through traceLLM', async () => {
      const bomb = Object.defineProperty({}, 'input_tokens', { enumerable: true, get() { throw new Error('getter bomb'); } });
      const huge = { usage: { input_tokens: 1e308, output_tokens: 1e308 } };
      for (const result of [{ usage: bomb }, huge, huge]) await run({ tags: [], user: 'u', session: 's', result });
      const samples = parseMetrics(await (await fetch(`${app.url}/metrics`)).text());
      const tokens = find(samples, 'llmscope_llm_tokens_total', { model: 'fuzz-model' });
      for (const s of tokens) expect(Number.isFinite(s.value)).toBe(true);
    });

    test('a long run: heap after GC flat once warm (under 20 MB growth over the last 200 of 400 fuzzed requests)', async () => {
      // Huge strings left out: they make the run slow, not more telling about what is retained.
      const small = (v: unknown): boolean => typeof v !== 'string' || v.length < 10000;
      // And the SDK calls (two round trips to the LLM server each): the property above has them.
      const plain = action.filter((a) => small(a.user) && small(a.session) && a.tags.every(([k, v]) => small(k) && small(v))).map((a) => ({ ...a, sdk: undefined }));
      const runs = async (n: number, seed: number): Promise<void> => {
        for (const a of fc.sample(plain, { numRuns: n, seed })) {
          await run(a).catch((error: unknown) => {
            throw new Error(`${fc.stringify(a).slice(0, 2000)}: ${String(error)}`);
          });
        }
      };
      // Warm: every bounded store (the routes' and labels' caches, recent traces) fills up first.
      await runs(200, 1);
      const before = heapAfterGc();
      await runs(200, 2);
      const after = heapAfterGc();
      const growthMb = (after - before) / 1024 / 1024;
      process.stdout.write(`[fuzz-app] heap after GC: ${(before / 1048576).toFixed(1)} MB after 200 fuzzed requests, ${(after / 1048576).toFixed(1)} MB after 200 more (growth ${growthMb.toFixed(1)} MB)\n`);
      expect(growthMb).toBeLessThan(20);
    }, 240000);
  }
});
