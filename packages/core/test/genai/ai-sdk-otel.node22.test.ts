import { find, type LlmServer } from '@llmscope/testkit';
import { Llmscope, llmscopeMiddleware, type LlmCallRecord } from '../../src';
import { inRequest, samples, scopeOptions, useLlmServer } from './sdk-harness';

// The AI SDK's own telemetry (`@ai-sdk/otel`: the GenAI-conventions integration and the legacy
// `ai.*` one) on llmscope's tracer provider: each model call is recorded once, from its span or
// from llmscopeMiddleware when both see it; the agent span keeps its duration, not a second count
// of the tokens. ai 7 and @ai-sdk/otel need Node 22 (core-node22); ES modules, imported in turn.

async function load() {
  const ai = await import('ai');
  const openai = await import('@ai-sdk/openai');
  const otel = await import('@ai-sdk/otel');
  return { ...ai, createOpenAI: openai.createOpenAI, OpenTelemetry: otel.OpenTelemetry, LegacyOpenTelemetry: otel.LegacyOpenTelemetry };
}
let m: Awaited<ReturnType<typeof load>>;
beforeAll(async () => {
  m = await load();
});

describe('the AI SDK\'s own telemetry feeds llmscope, without double counting', () => {
  const server = useLlmServer();

  const CASES = [
    ['OpenTelemetry (gen_ai spans)', 'otel', false],
    ['OpenTelemetry with llmscopeMiddleware', 'otel', true],
    ['LegacyOpenTelemetry (ai.* spans)', 'legacy', false],
    ['LegacyOpenTelemetry with llmscopeMiddleware', 'legacy', true],
  ] as const;

  test.each(CASES)('%s: one chat record per model call, with tokens, cost, TTFT and the request context', async (_name, kind, wrap) => {
    const llm: LlmServer = server();
    const scope = new Llmscope(scopeOptions);
    const records: LlmCallRecord[] = [];
    scope.onLlmCall((r) => records.push(r));
    const openai = m.createOpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL });
    const integration = kind === 'otel' ? new m.OpenTelemetry() : new m.LegacyOpenTelemetry();
    const model = wrap ? m.wrapLanguageModel({ model: openai.chat('gpt-4o-mini'), middleware: llmscopeMiddleware() }) : openai.chat('gpt-4o-mini');
    llm.enqueue({ usage: { input: 100, output: 20 } }, { firstChunkDelayMs: 80, usage: { input: 50, output: 10 } });
    await inRequest(scope, async () => {
      await m.generateText({ model, prompt: 'hi', telemetry: { integrations: [integration] } });
      const stream = m.streamText({ model, prompt: 'hi', telemetry: { integrations: [integration] } });
      await stream.text;
    });
    const chats = records.filter((r) => r.operation === 'chat');
    expect(chats.map((r) => [r.source, r.model, r.inputTokens, r.outputTokens, r.userId])).toEqual([
      [wrap ? 'llmscope' : 'span', 'gpt-4o-mini', 100, 20, 'u1'],
      [wrap ? 'llmscope' : 'span', 'gpt-4o-mini', 50, 10, 'u1'],
    ]);
    expect(chats[1]?.timeToFirstChunk).toBeGreaterThanOrEqual(0.08);
    expect(chats[1]?.timeToFirstChunk).toBeLessThanOrEqual(chats[1]?.seconds ?? 0);
    // Agent spans (the OpenTelemetry integration's invoke_agent) carry no tokens or cost of their own.
    for (const r of records.filter((x) => x.operation !== 'chat')) {
      expect([r.operation, r.inputTokens, r.costUsd]).toEqual(['invoke_agent', undefined, undefined]);
    }
    const s = await samples(scope);
    expect(find(s, 'llmscope_llm_tokens_total', { token_type: 'input' }).reduce((n, x) => n + x.value, 0)).toBe(150);
    const cost = find(s, 'llmscope_llm_cost_usd_total').reduce((n, x) => n + x.value, 0);
    expect(cost).toBeCloseTo((chats[0]?.costUsd ?? 0) + (chats[1]?.costUsd ?? 0), 12);
    expect(cost).toBeGreaterThan(0);
  });
});
