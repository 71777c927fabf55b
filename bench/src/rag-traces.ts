/**
 * Typical request traces for the micro-measurements (micro.ts, micro-otlp.ts): one definition, so
 * that their figures are for the same traces.
 */
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Llmscope, setFeature, setPromptVersion, type ExportersOptions } from '@llmscope/core';

/** 1000 typical request traces as llmscope records them: the request span, three RAG steps and one LLM call. */
export async function ragTraces(requests: number, exporters: ExportersOptions, collect?: ReadableSpan[]): Promise<void> {
  const collector: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      collect?.push(span);
    },
    async forceFlush() {},
    async shutdown() {},
  };
  const scope = new Llmscope({
    metrics: { defaultMetrics: false }, exporters, sampling: { tail: false },
    tracing: collect === undefined ? undefined : { spanProcessors: [collector] },
  });
  const result = { id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', usage: { prompt_tokens: 120, completion_tokens: 85 } };
  for (let i = 0; i < requests; i++) {
    const ctx = scope.startRequest('POST', `/chat/${i}`, { 'x-user-id': `user-${i % 50}`, 'x-session-id': `sess-${i % 200}`, 'user-agent': 'bench/1.0' }, undefined);
    await scope.run(ctx, async () => {
      setFeature('support-chat');
      setPromptVersion('rag-answer', '3');
      await scope.step('embed_query', async () => [0.1, 0.2]);
      await scope.step('vector_search', async () => ['doc-1', 'doc-2', 'doc-3'], { 'llmscope.rag.top_k': 3 });
      scope.step('prompt_construction', () => 'Context: ...');
      scope.traceLLM({ model: 'gpt-4o-mini', provider: 'openai', temperature: 0.2, maxTokens: 256 }, () => result);
    });
    scope.setRoute(ctx, '/chat/:id');
    scope.finishRequest(ctx, 200);
  }
  await scope.shutdown(30000);
}
