import type { Attributes } from '@opentelemetry/api';
import { SpanKind } from '@opentelemetry/api';
import { currentOwner, getContext } from '../context/context';
import { settle } from '../context/settle';
import { resultAttributes, STEP_KIND } from './rag';
import { keepRetrieved } from '../evals/documents';
import { failSpan, runInSpan } from './span-run';
import { getTracer } from './provider';
import { LLMSCOPE } from '../genai/schema';

/**
 * Runs one RAG step (`embed_query`, `vector_search`, `prompt_construction`, `rerank`, ...) as a
 * child span of the current span, named `name`. Works with sync and async functions; the
 * result or error of `fn` is passed through unchanged. With `retrievalAttributes()` or
 * `embeddingAttributes()`, the documents returned and the vector length are read from the result.
 * A step that fails is reported to the error log and Sentry (once per error, tracing on or off).
 *
 * @example
 * const docs = await step('vector_search', () => store.search(vector, 5), retrievalAttributes({ dataSourceId: 'kb', topK: 5 }));
 */
export function step<T>(name: string, fn: () => T, attributes?: Attributes): T {
  const owner = currentOwner();
  // Retrieved documents are kept for evaluators only when they are configured with content capture.
  const ctx = owner?.documentCapture !== undefined && attributes?.[STEP_KIND] === 'retrieval' ? getContext() : undefined;
  if (owner !== undefined && !owner.tracingOn) {
    if (!owner.reportsErrors && ctx === undefined) return fn();
    return settle(fn, (error, value, failed) => {
      if (!failed) keepRetrieved(ctx, value);
      else if (owner.reportsErrors) owner.reportError(error, getContext(), { source: 'step', name });
    });
  }
  const span = getTracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  span.setAttribute(LLMSCOPE.step, name);
  return runInSpan(span, fn, (error, value, failed) => {
    if (failed) {
      failSpan(span, error);
      if (owner?.reportsErrors) owner.reportError(error, getContext(), { source: 'step', name });
    } else if (attributes !== undefined) {
      const more = resultAttributes(attributes, value);
      if (more !== undefined) span.setAttributes(more);
      keepRetrieved(ctx, value);
    }
    span.end();
  });
}
