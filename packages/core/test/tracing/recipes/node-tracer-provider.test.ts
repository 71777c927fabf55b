/**
 * Recipe (docs/tracing.md): an app that sets up `NodeTracerProvider` itself, before llmscope,
 * adds `llmscopeSpanProcessor` to it; llmscope's OTLP exporter (from options or environment)
 * then receives every span, and the app's own exporter keeps receiving them too.
 */
import { BatchSpanProcessor, InMemorySpanExporter, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OtlpReceiver } from '@llmscope/testkit';
import { llmscopeSpanProcessor } from '../../../src';
import { chat, ragApp } from '../../exporters/exporter-app';

test('NodeTracerProvider.register() with llmscopeSpanProcessor: llmscope\'s exporter and the app\'s both get the trace, no warning', async () => {
  // --- the recipe ---
  const appExporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(appExporter), llmscopeSpanProcessor] });
  provider.register();
  // ---
  const receiver = await new OtlpReceiver().start();
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const app = await ragApp({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
  const warnings = warn.mock.calls.map((c) => String(c[0]));
  warn.mockRestore();
  try {
    const traceId = await chat(app.url, 'hello');
    await app.mw.llmscope.shutdown();
    await provider.forceFlush();
    const names = ['POST /chat/:id', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'vector_search'];
    expect(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name).sort()).toEqual(names);
    expect(appExporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId).map((s) => s.name).sort()).toEqual(names);
    expect(warnings.filter((w) => w.includes('llmscope'))).toEqual([]);
  } finally {
    await app.close();
    await receiver.close();
    await provider.shutdown();
  }
});
