import { find, load, memoryLogger, parseMetrics } from '@llmscope/testkit';
import type { LlmCallRecord } from '../../src';
import { ragApp } from './exporter-app';

// App code llmscope calls inside a request: when it throws, the request never notices; the
// failure is counted and logged once (issue 18 item 3). Evaluators that throw are covered by
// test/evals/evaluators.test.ts (counted as outcome="error", never thrown).
describe('a broken identify or onLlmCall listener never reaches the request', () => {
  test('every request answers 200 with its LLM call counted; each failure counted in llmscope_hook_errors_total, logged once per hook', async () => {
    const { logger, lines } = memoryLogger();
    const app = await ragApp({
      metrics: { defaultMetrics: false },
      logging: { logger, requests: false, llmCalls: false },
      identify: () => {
        throw new Error('session store down');
      },
    });
    const received: LlmCallRecord[] = [];
    app.mw.llmscope.onLlmCall(() => {
      throw new TypeError('bug in the app\'s listener');
    });
    // A listener after the broken one still gets every record.
    app.mw.llmscope.onLlmCall((r) => received.push(r));
    try {
      const result = await load(app.url, 50, 5, () => 'POST /chat/1');
      expect(result.statuses.get(200)).toBe(50);
      expect(received).toHaveLength(50);
      const samples = parseMetrics((await app.mw.llmscope.handleMetrics(undefined)).body);
      expect(find(samples, 'llmscope_hook_errors_total', { hook: 'identify' })[0]?.value).toBe(50);
      expect(find(samples, 'llmscope_hook_errors_total', { hook: 'llm_call_sink' })[0]?.value).toBe(50);
      // The built-in sinks ran before the app's: the calls are all in the LLM metrics.
      const calls = find(samples, 'gen_ai_client_operation_duration_seconds_count').reduce((t, s) => t + s.value, 0);
      expect(calls).toBe(50);
      const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('logged once'));
      expect(warnings.map((l) => [l.hook, l.error])).toEqual([
        ['identify', 'Error: session store down'],
        ['llm_call_sink', 'TypeError: bug in the app\'s listener'],
      ]);
    } finally {
      await app.mw.llmscope.shutdown();
      await app.close();
    }
  }, 60000);
});
