/**
 * Recipe (docs/tracing.md): the usual `instrumentation.ts` with `NodeSDK` and Langfuse's own
 * set-up (`LangfuseSpanProcessor`), started before the app; `llmscopeSpanProcessor` added to the
 * SDK's span processors. Langfuse gets the LLM generation from the app's processor, llmscope's
 * OTLP exporter gets the whole trace, and the GenAI span of another instrumentation is counted.
 */
import { trace } from '@opentelemetry/api';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { LangfuseServer, OtlpReceiver, find, parseMetrics } from '@llmscope/testkit';
import { llmscopeSpanProcessor } from '../../../src';
import { chat, ragApp } from '../../exporters/exporter-app';

test('NodeSDK + LangfuseSpanProcessor + llmscopeSpanProcessor: every consumer gets its spans', async () => {
  const langfuse = await new LangfuseServer().start();
  const receiver = await new OtlpReceiver().start();
  // --- the recipe (instrumentation.ts) ---
  const sdk = new NodeSDK({
    serviceName: 'rag-api',
    spanProcessors: [
      new LangfuseSpanProcessor({ publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: langfuse.url }),
      llmscopeSpanProcessor,
    ],
    instrumentations: [],
  });
  sdk.start();
  // ---
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const app = await ragApp({ exporters: { otlp: { url: receiver.tracesUrl } } });
  const warnings = warn.mock.calls.map((c) => String(c[0]));
  warn.mockRestore();
  try {
    const traceId = await chat(app.url, 'hello');
    // Another instrumentation's GenAI span, on the SDK's provider: llmscope counts it too.
    trace.getTracer('openai-instrumentation').startSpan('embeddings text-embedding-3-small', {
      attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': 12 },
    }).end();
    const metrics = parseMetrics(await app.mw.llmscope.registry!.metrics());
    await app.mw.llmscope.shutdown();
    await sdk.shutdown();

    expect(warnings.filter((w) => w.includes('llmscope'))).toEqual([]);
    expect(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name).sort()).toEqual(['POST /chat/:id', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'vector_search']);
    const generation = langfuse.spans.find((s) => s.traceId === traceId && s.name === 'chat gpt-4o-mini');
    expect(generation?.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 120 });
    expect(find(metrics, 'gen_ai_client_operation_duration_seconds_count', { operation: 'chat', model: 'gpt-4o-mini' })[0]?.value).toBe(1);
    expect(find(metrics, 'llmscope_llm_tokens_total', { operation: 'embeddings', model: 'text-embedding-3-small', token_type: 'input' })[0]?.value).toBe(12);
  } finally {
    await app.close();
    await receiver.close();
    await langfuse.close();
  }
});
