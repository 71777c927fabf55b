/**
 * @llmscope/example-kit: what the Express, Fastify and NestJS example apps share, so that each
 * app is only its framework's wiring. A simulated LLM (deterministic, realistic latency, no API
 * key), an in-memory vector store, the RAG pipeline traced with llmscope, and the start-up banner.
 * @packageDocumentation
 */
export { answerQuestion, buildPrompt, contextOf, PROMPT, RAG_PROMPTS, RAG_EXPERIMENT, RAG_ATTRIBUTES, SIMULATED_JUDGE_MODEL, SIMULATED_MODEL, SIMULATED_PRICES, type Answer, type AnswerOptions, type AnswerSource } from './rag';
export { SimulatedLLM, type ChatCompletion, type ChatCompletionRequest, type ChatMessage, type SimulatedLlmOptions } from './simulated-llm';
export { InMemoryVectorStore, type ScoredDocument } from './vector-store';
export { embed, cosineSimilarity, EMBEDDING_DIMENSIONS } from './embeddings';
export { countTokens } from './tokens';
export { DOCUMENTS, DATA_SOURCE_ID, PRODUCT, SAMPLE_QUESTIONS, type KnowledgeDocument } from './documents';
export { speedFromEnv, simulatedDelay } from './latency';
export { ENDPOINTS, TRACE_ID_PLACEHOLDER, curlLine, feedbackCurlLine, describeEndpoints, formatBanner, printBanner, type BannerOptions, type Endpoint } from './banner';
export { exampleLlmscopeOptions, type ExampleScoringOptions } from './evaluations';
