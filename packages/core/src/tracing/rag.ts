import type { Attributes } from '@opentelemetry/api';
import { GEN_AI } from '../genai/schema';

/** Describes a retrieval step (vector search, keyword search, rerank) for {@link retrievalAttributes}. */
export interface RetrievalStep {
  /** The index, collection or knowledge base searched (`gen_ai.data_source.id`). */
  dataSourceId?: string;
  /** How many documents were asked for (`gen_ai.request.top_k`). */
  topK?: number;
  /** How many came back; default: the length of the step's result when it is an array. */
  documentsReturned?: number;
}

/** Describes an embedding step for {@link embeddingAttributes}. */
export interface EmbeddingStep {
  /** Vector length (`gen_ai.embeddings.dimension.count`); default: read from the step's result. */
  dimensions?: number;
  /** Embedding model, recorded as `llmscope.embedding.model` (the call itself is traced with `traceLLM`/`instrumentOpenAI`). */
  model?: string;
}

/** Marks the kind of a RAG step so that `step()` can read counts from its result. */
export const STEP_KIND = 'llmscope.step.kind';
/** Documents a retrieval step returned. */
export const DOCUMENTS_RETURNED = 'llmscope.retrieval.documents_returned';

/**
 * Span attributes of a retrieval step, for `step(name, fn, retrievalAttributes({...}))`. The
 * number of documents returned is taken from the result when it is an array.
 *
 * @example
 * const docs = await step('vector_search', () => index.query(vector, 5), retrievalAttributes({ dataSourceId: 'kb', topK: 5 }));
 */
export function retrievalAttributes(info: RetrievalStep): Attributes {
  const a: Attributes = { [STEP_KIND]: 'retrieval' };
  if (typeof info.dataSourceId === 'string') a[GEN_AI.dataSourceId] = info.dataSourceId;
  if (typeof info.topK === 'number') a[GEN_AI.topK] = info.topK;
  if (typeof info.documentsReturned === 'number') a[DOCUMENTS_RETURNED] = info.documentsReturned;
  return a;
}

/**
 * Span attributes of an embedding step, for `step(name, fn, embeddingAttributes({...}))`. The
 * dimension count is taken from the result (a vector, a list of vectors, or an OpenAI
 * embeddings response) when not given.
 */
export function embeddingAttributes(info: EmbeddingStep = {}): Attributes {
  const a: Attributes = { [STEP_KIND]: 'embedding' };
  if (typeof info.dimensions === 'number') a[GEN_AI.embeddingDimensions] = info.dimensions;
  if (typeof info.model === 'string') a['llmscope.embedding.model'] = info.model;
  return a;
}

function vectorLength(result: unknown): number | undefined {
  if (!Array.isArray(result)) {
    const data = (result as { data?: { embedding?: unknown }[] } | null)?.data;
    return Array.isArray(data) && Array.isArray(data[0]?.embedding) ? (data[0]?.embedding as unknown[]).length : undefined;
  }
  if (result.length === 0) return undefined;
  if (typeof result[0] === 'number') return result.length;
  return Array.isArray(result[0]) ? (result[0] as unknown[]).length : undefined;
}

/** Attributes that a RAG step's result tells (documents returned, vector length), to add at its end. */
export function resultAttributes(attributes: Attributes | undefined, result: unknown): Attributes | undefined {
  const kind = attributes?.[STEP_KIND];
  if (kind === 'retrieval' && attributes?.[DOCUMENTS_RETURNED] === undefined && Array.isArray(result)) return { [DOCUMENTS_RETURNED]: result.length };
  if (kind === 'embedding' && attributes?.[GEN_AI.embeddingDimensions] === undefined) {
    const n = vectorLength(result);
    return n === undefined ? undefined : { [GEN_AI.embeddingDimensions]: n };
  }
  return undefined;
}
