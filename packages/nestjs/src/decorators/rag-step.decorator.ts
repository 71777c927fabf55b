import type { Attributes } from '@opentelemetry/api';
import { step } from '@llmscope/core';
import { wrapMethod } from './wrap-method';

/**
 * Runs the method as a RAG step (`embed_query`, `vector_search`, `rerank`, ...): a child span of
 * the current span, named `name`, ended when the method returns or its promise settles. Steps
 * and LLM calls made inside nest under it.
 *
 * @example
 * \@RagStep('vector_search', { 'gen_ai.data_source.id': 'kb' })
 * search(vector: number[]) { return this.store.search(vector, 5); }
 */
export function RagStep(name: string, attributes?: Attributes): MethodDecorator {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('llmscope: @RagStep(name) needs a non-empty name.');
  return (_target, _key, descriptor) => {
    wrapMethod(descriptor, (original) =>
      function ragStep(this: unknown, ...args: unknown[]) {
        return step(name, () => original.apply(this, args), attributes);
      });
  };
}
