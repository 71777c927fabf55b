import { Registry } from 'prom-client';
import { portForChild } from '@llmscope/testkit';
import { LlmscopeConfigError } from '../../../src';
import { PromptGuards } from '../../../src/prompts/guard/guards';
import { resolvePromptGuards, type PromptGuardsOptions } from '../../../src/prompts/guard/options';
import { bucketLatency } from '../../../src/prompts/guard/prometheus';
import { MemoryTraffic, RecordingReporter } from './helpers';

function message(value: PromptGuardsOptions['fleet']): string {
  try {
    resolvePromptGuards('prompts', { guards: { x: {} }, fleet: value });
  } catch (error) {
    expect(error).toBeInstanceOf(LlmscopeConfigError);
    return (error as Error).message;
  }
  return 'accepted';
}

describe('fleet source', () => {
  test('prompts.fleet is validated with the kit', () => {
    expect(resolvePromptGuards('prompts', { guards: { x: {} }, fleet: { prometheusUrl: 'http://prometheus:9090/', selector: ' job="rag-api", env=~"prod|canary" ' } }).fleet)
      .toEqual({ prometheusUrl: 'http://prometheus:9090', selector: 'job="rag-api", env=~"prod|canary"', timeoutMs: 5000, headers: {} });
    expect(message({ prometheusUrl: 'prometheus:9090' })).toBe('llmscope: option `prompts.fleet.prometheusUrl` must be an http(s) URL such as http://prometheus:9090, got "prometheus:9090".');
    expect(message({} as never)).toBe("llmscope: option `prompts.fleet.prometheusUrl` is required: Prometheus's base URL such as http://prometheus:9090.");
    expect(message({ prometheusUrl: 'http://p:9090', selector: 'job=rag' })).toBe('llmscope: option `prompts.fleet.selector` must be PromQL label matchers such as job="rag-api" or job="rag-api",env=~"prod|canary", got "job=rag".');
    expect(message({ prometheusUrl: 'http://p:9090', headers: { authorization: 1 } as never })).toBe('llmscope: option `prompts.fleet.headers["authorization"]` must be a string, got 1.');
    expect(message({ prometheusUrl: 'http://p:9090', timeout: 5 } as never)).toBe('llmscope: unknown option `prompts.fleet.timeout`. Did you mean `prompts.fleet.timeoutMs`? Known options: prometheusUrl, selector, timeoutMs, headers.');
  });

  test('a fleet guard needs metrics on (every replica exports its counters)', () => {
    const config = resolvePromptGuards('prompts', { guards: { x: {} }, fleet: { prometheusUrl: 'http://127.0.0.1:9' } });
    expect(() => new PromptGuards(config, { control: () => new MemoryTraffic('x', { a: 1, b: 1 }) })).toThrow("llmscope: option `prompts.fleet` reads the replicas' guard counters from Prometheus, so every replica must export them: turn metrics on (`metrics` is false).");
  });

  test('Prometheus unreachable: one warn line per failure streak, nothing decided, nothing thrown', async () => {
    const port = await portForChild();
    const reporter = new RecordingReporter();
    const traffic = new MemoryTraffic('x', { a: 90, b: 10 });
    const guards = new PromptGuards(resolvePromptGuards('prompts', { guards: { x: { evaluateEveryMs: 600_000 } }, fleet: { prometheusUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 } }), { control: () => traffic, registry: new Registry(), reporter });
    guards.start();
    await guards.evaluate();
    await guards.evaluate();
    expect(reporter.lines).toEqual([expect.objectContaining({ level: 'warn', message: 'prompt guard cannot read Prometheus', fields: expect.objectContaining({ event: 'prompt_guard_source_failed', prompt_name: 'x', error: expect.stringMatching(/^Prometheus query failed: /) }) })]);
    expect(guards.get('x')!.state).toBe('watching');
    expect(traffic.changes).toEqual([]);
    guards.close();
  });

  test('latency from cumulative buckets: quantiles like histogram_quantile, counts above a bound never over-counted', () => {
    const l = bucketLatency(new Map([[0.5, 10], [1, 60], [2, 95], [Infinity, 100]]));
    expect(l.n).toBe(100);
    // Rank 95 is the 2 s edge; rank 50 is 80% into (0.5, 1].
    expect(l.quantile(0.95)).toBe(2);
    expect(l.quantile(0.5)).toBeCloseTo(0.9, 12);
    expect(l.quantile(0.99)).toBe(2);
    // Above 0.7 s: counted above the 1 s edge (40), not guessed inside the bucket.
    expect(l.above(0.7)).toBe(40);
    expect(l.above(1)).toBe(40);
    expect(l.above(5)).toBe(0);
    expect(Number.isNaN(bucketLatency(new Map()).quantile(0.95))).toBe(true);
  });
});
