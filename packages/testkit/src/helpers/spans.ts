import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { llmscopeSpanProcessor } from '@llmscope/core';

/**
 * An in-memory exporter attached to llmscope's span processor (every span of every llmscope
 * instance in the process, before sampling), for the whole test file.
 */
export function memoryExporter(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  llmscopeSpanProcessor.add(new SimpleSpanProcessor(exporter));
  return exporter;
}

/**
 * Waits until `predicate` holds on the finished spans (spans end on 'close', after the response).
 * The default timeout is generous: it only bounds a failing test, and on a loaded 2-core CI
 * machine a span can end seconds after its response.
 */
export async function waitForSpans(exporter: InMemorySpanExporter, predicate: (spans: ReadableSpan[]) => boolean, timeoutMs = 10_000): Promise<ReadableSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = exporter.getFinishedSpans();
    if (predicate(spans)) return spans;
    if (Date.now() > deadline) throw new Error(`spans never matched; got: ${spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
