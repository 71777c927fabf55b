import type { Attributes } from '@opentelemetry/api';
import { SpanKind } from '@opentelemetry/api';
import { resultAttributes } from './rag';
import { failSpan, runInSpan } from './span-run';
import { getTracer } from './provider';
import { tracingEnabled } from '../context/recorder';

/**
 * Runs one RAG step (`embed_query`, `vector_search`, `prompt_construction`, `rerank`, ...) as a
 * child span of the current span, named `name`. Works with sync and async functions; the
 * result or error of `fn` is passed through unchanged. With `retrievalAttributes()` or
 * `embeddingAttributes()`, the documents returned and the vector length are read from the result.
 *
 * @example
 * const docs = await step('vector_search', () => store.search(vector, 5), retrievalAttributes({ dataSourceId: 'kb', topK: 5 }));
 */
export function step<T>(name: string, fn: () => T, attributes?: Attributes): T {
  if (!tracingEnabled()) return fn();
  const span = getTracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  span.setAttribute('llmscope.step', name);
  return runInSpan(span, fn, (error, value, failed) => {
    if (failed) failSpan(span, error);
    else if (attributes !== undefined) {
      const more = resultAttributes(attributes, value);
      if (more !== undefined) span.setAttributes(more);
    }
    span.end();
  });
}
