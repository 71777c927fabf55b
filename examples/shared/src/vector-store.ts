import { cosineSimilarity, embed, EMBEDDING_DIMENSIONS } from './embeddings';
import type { KnowledgeDocument } from './documents';

/**
 * A document returned by a search, with its cosine similarity to the query. `id` and `text` at
 * the top level are what llmscope reads from a retrieval step's result (for evaluators such as
 * `citationEvaluator()`), as from LangChain's or a vector database's results.
 */
export interface ScoredDocument {
  id: string;
  text: string;
  document: KnowledgeDocument;
  score: number;
}

interface Entry {
  document: KnowledgeDocument;
  vector: number[];
}

/**
 * A tiny in-memory vector store: documents embedded once when added, exact cosine search.
 * Enough for a dozen documents; it stands in for pgvector, Qdrant or Pinecone in the examples.
 */
export class InMemoryVectorStore {
  private readonly entries: Entry[] = [];

  constructor(
    /** The store's name, reported as `gen_ai.data_source.id`. */
    readonly id: string,
    readonly dimensions: number = EMBEDDING_DIMENSIONS,
  ) {}

  /** Embeds and stores `documents`. */
  add(documents: readonly KnowledgeDocument[]): this {
    for (const document of documents) this.entries.push({ document, vector: embed(`${document.title} ${document.text}`, this.dimensions) });
    return this;
  }

  /** Number of documents stored. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * The `topK` documents most similar to `vector` whose score is above `minScore` (documents
   * sharing no word with the query score 0 and are left out), best first; ties by id, so that
   * results are deterministic.
   */
  search(vector: readonly number[], topK: number, minScore = 0): ScoredDocument[] {
    return this.entries
      .map((e) => ({ id: e.document.id, text: e.document.text, document: e.document, score: cosineSimilarity(vector, e.vector) }))
      .filter((r) => r.score > minScore)
      .sort((a, b) => b.score - a.score || a.document.id.localeCompare(b.document.id))
      .slice(0, topK);
  }
}
