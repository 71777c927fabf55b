import { ChatOpenAI } from '@langchain/openai';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { BaseRetriever } from '@langchain/core/retrievers';
import { Document } from '@langchain/core/documents';
import { find, type LlmServer } from '@llmscope/testkit';
import { Llmscope, llmscopeLangChainHandler, type LlmCallRecord } from '../../src';
import { exporter, inRequest, samples, scopeOptions, usd, useLlmServer } from './sdk-harness';

// LangChain.js (@langchain/core 1, @langchain/openai 1: the latter requires Node 22, so this file
// is the Jest project core-node22) with the real ChatOpenAI pointed at the testkit LLM server.

class Docs extends BaseRetriever {
  override lc_namespace = ['test', 'retrievers'];
  override async _getRelevantDocuments(query: string): Promise<Document[]> {
    return [new Document({ pageContent: `about ${query}` }), new Document({ pageContent: 'more' })];
  }
}

describe('llmscopeLangChainHandler with the real LangChain.js', () => {
  const server = useLlmServer();
  let llm: LlmServer;
  beforeAll(() => {
    llm = server();
  });

  function scoped(): { scope: Llmscope; records: LlmCallRecord[] } {
    const scope = new Llmscope(scopeOptions);
    const records: LlmCallRecord[] = [];
    scope.onLlmCall((r) => records.push(r));
    return { scope, records };
  }

  function chat(streaming = false): ChatOpenAI {
    return new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test-key', configuration: { baseURL: llm.openaiBaseURL }, streaming, maxRetries: 0, temperature: 0.2 });
  }

  test('a RAG chain: retriever step (documents), chat model call (tokens, cost, request context) nested under the chain span', async () => {
    const { scope, records } = scoped();
    llm.enqueue({ usage: { input: 300, output: 40, cacheRead: 100 } });
    const model = chat();
    const chain = RunnableSequence.from([
      new Docs(),
      RunnableLambda.from((docs: Document[]) => `${docs.map((d) => d.pageContent).join('\n')}\nAnswer from these.`),
      model,
    ]);
    const answer = await inRequest(scope, () => chain.invoke('cats', { callbacks: [llmscopeLangChainHandler()] }));
    expect(answer.content).toBe('Hello from the llmscope testkit.');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', inputTokens: 300, outputTokens: 40, cacheReadTokens: 100, temperature: 0.2, userId: 'u1', source: 'llmscope' });
    expect(records[0]?.costUsd).toBeCloseTo(usd('gpt-4o-mini', 'openai', { input_tokens: 300, output_tokens: 40, cache_read_tokens: 100 }), 12);
    const spans = exporter.getFinishedSpans();
    const retriever = spans.find((s) => s.attributes['llmscope.step.kind'] === 'retrieval');
    expect(retriever?.attributes['llmscope.retrieval.documents_returned']).toBe(2);
    const llmSpan = spans.find((x) => x.attributes['gen_ai.operation.name'] === 'chat');
    const parent = spans.find((s) => s.spanContext().spanId === llmSpan?.parentSpanContext?.spanId);
    expect(parent?.attributes['llmscope.step']).toBeDefined(); // the sequence's chain span
    expect(spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat')).toHaveLength(1);
    const s = await samples(scope);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { provider: 'openai', model: 'gpt-4o-mini' })[0]?.value).toBe(1);
  });

  test('streamed chat: time to first token; errors fail the call', async () => {
    const { scope, records } = scoped();
    llm.enqueue({ firstChunkDelayMs: 100, chunkDelayMs: 20, chunks: 5, usage: { input: 30, output: 8 } }, { status: 401, errorMessage: 'bad key' });
    const model = chat(true);
    let seenFirst = 0;
    await inRequest(scope, async () => {
      const before = performance.now();
      const stream = await model.stream('hi', { callbacks: [llmscopeLangChainHandler()] });
      for await (const _ of stream) if (seenFirst === 0) seenFirst = (performance.now() - before) / 1000;
    });
    await expect(inRequest(scope, () => chat().invoke('hi', { callbacks: [llmscopeLangChainHandler()] }))).rejects.toBeDefined();
    expect(records.map((r) => r.outcome)).toEqual(['ok', 'error']);
    const ttft = records[0]?.timeToFirstChunk ?? 0;
    expect(ttft).toBeGreaterThanOrEqual(0.1);
    expect(ttft).toBeLessThanOrEqual(seenFirst);
    expect(records[1]?.errorType).toBe('AuthenticationError');
  });
});
