import { embeddingAttributes, retrievalAttributes, step, traceLLM, type ModelPrice, type Prompt, type PromptDefinition, type PromptExperimentOptions } from '@llmscope/core';
import { DATA_SOURCE_ID, DOCUMENTS, PRODUCT } from './documents';
import { embed } from './embeddings';
import { simulatedDelay, speedFromEnv } from './latency';
import { SimulatedLLM, type ChatMessage } from './simulated-llm';
import { InMemoryVectorStore, type ScoredDocument } from './vector-store';

/** Model name the simulated LLM answers as. */
export const SIMULATED_MODEL = 'sim-gpt';

/**
 * Model name of the simulated LLM when it grades answers (the example's judge): the same
 * {@link SimulatedLLM}, told apart in the token and cost metrics by its model name.
 */
export const SIMULATED_JUDGE_MODEL = 'sim-judge';

/**
 * A price for the simulated model (that of a small hosted model), for llmscope's `llm.prices`
 * option: no price table knows `sim-gpt`, and with a price the example shows cost on its spans
 * and in `llmscope_llm_cost_usd_total`.
 */
export const SIMULATED_PRICES: Record<string, ModelPrice> = {
  [SIMULATED_MODEL]: { inputPerMTok: 0.15, outputPerMTok: 0.6, contextWindow: 16384 },
  [SIMULATED_JUDGE_MODEL]: { inputPerMTok: 0.15, outputPerMTok: 0.6, contextWindow: 16384 },
};

/**
 * Span attributes of the RAG steps, as core's `retrievalAttributes()` and `embeddingAttributes()`
 * name them (`gen_ai.*`: OpenTelemetry GenAI semantic conventions), for apps that set them by hand.
 */
export const RAG_ATTRIBUTES = {
  dataSourceId: 'gen_ai.data_source.id',
  embeddingDimensions: 'gen_ai.embeddings.dimension.count',
  topK: 'gen_ai.request.top_k',
  documentsReturned: 'llmscope.retrieval.documents_returned',
} as const;

/** A document an answer was built from. */
export interface AnswerSource {
  id: string;
  title: string;
  /** Cosine similarity to the question, rounded to 3 decimals. */
  score: number;
}

/** What {@link answerQuestion} returns. */
export interface Answer {
  answer: string;
  sources: AnswerSource[];
  model: string;
  usage: { inputTokens: number; outputTokens: number };
}

/** Options of {@link answerQuestion}. Everything has a default. */
export interface AnswerOptions {
  /** Documents retrieved per question. Default 3. */
  topK?: number;
  /** Speed factor of the simulated latencies (see `SIM_LLM_SPEED`). */
  speed?: number;
  /** The model to call. Default: a {@link SimulatedLLM} at `speed`. */
  llm?: SimulatedLLM;
  /** The knowledge base. Default: the Orbit Notes help centre. */
  store?: InMemoryVectorStore;
  /**
   * The prompt to answer with (from `getPrompt(PROMPT.name)`: the request's version of the
   * experiment), compiled with `product`, `context` and `question`. Default: version v1's messages.
   */
  prompt?: Prompt;
}

// Built once: embedding the knowledge base is start-up work, not per-request work.
const defaultStore = new InMemoryVectorStore(DATA_SOURCE_ID).add(DOCUMENTS);
const defaultLlms = new Map<number, SimulatedLLM>();

function llmFor(speed: number): SimulatedLLM {
  let llm = defaultLlms.get(speed);
  if (llm === undefined) defaultLlms.set(speed, (llm = new SimulatedLLM({ speed })));
  return llm;
}

/** The RAG prompt of {@link answerQuestion}: its name, and its baseline version. */
export const PROMPT = { name: 'rag-answer', version: 'v1' } as const;

const SYSTEM_V1 = "You are the {{product}} help assistant. Answer only from the context and cite each document's id like [pricing].";
const USER = 'Context:\n{{context}}\n\nQuestion: {{question}}';

/**
 * The two versions of the RAG prompt the examples serve (llmscope's `prompts.local`): v1, the
 * baseline, and v2, a candidate with a longer system prompt (more input tokens: it shows in the
 * cost by prompt version).
 */
export const RAG_PROMPTS: PromptDefinition[] = [
  { name: PROMPT.name, version: 'v1', labels: ['production'], prompt: [{ role: 'system', content: SYSTEM_V1 }, { role: 'user', content: USER }], config: { model: SIMULATED_MODEL, temperature: 0, maxTokens: 256 } },
  {
    name: PROMPT.name, version: 'v2', labels: ['staging'], config: { model: SIMULATED_MODEL, temperature: 0, maxTokens: 256 },
    prompt: [
      { role: 'system', content: "You are the {{product}} help assistant, friendly and precise. Use only the context below; if it does not answer the question, say so. Cite each document's id like [pricing]." },
      { role: 'user', content: USER },
    ],
  },
];

/**
 * The experiment the examples run on their prompt (llmscope's `prompts.experiments`): 80% of users
 * get v1, 20% v2, by a hash of the user id (sticky; the same on every replica and restart).
 */
export const RAG_EXPERIMENT: Record<string, PromptExperimentOptions> = { [PROMPT.name]: { variants: { v1: 80, v2: 20 } } };

/** The retrieved documents as prompt context, each tagged with its id (so that the answer cites ids citationEvaluator() can check). */
export function contextOf(found: readonly ScoredDocument[]): string {
  return found.map((r) => `[${r.id}] ${r.document.title}: ${r.document.text}`).join('\n');
}

/** The messages of `prompt` (else of version v1) for a question and its documents. */
export function buildPrompt(question: string, found: readonly ScoredDocument[], prompt?: Prompt): ChatMessage[] {
  const variables = { product: PRODUCT, context: contextOf(found), question };
  if (prompt?.type === 'chat') return prompt.compile(variables) as ChatMessage[];
  if (prompt?.type === 'text') return [{ role: 'user', content: prompt.compile(variables) }];
  return [
    { role: 'system', content: SYSTEM_V1.replace('{{product}}', PRODUCT) },
    { role: 'user', content: `Context:\n${variables.context}\n\nQuestion: ${question}` },
  ];
}

/**
 * Answers a question about the example product with retrieval-augmented generation, each stage
 * traced: `embed_query`, `vector_search`, `prompt_construction`, the LLM call (`chat sim-gpt`)
 * and `response_formatting`, as children of the current request span. Framework-neutral: every
 * example app calls it from its route handler.
 */
export async function answerQuestion(question: string, options: AnswerOptions = {}): Promise<Answer> {
  const speed = options.speed ?? speedFromEnv();
  const topK = options.topK ?? 3;
  const store = options.store ?? defaultStore;
  const llm = options.llm ?? llmFor(speed);

  // The helpers mark the step's kind, so that step() reads the vector length and the number of
  // documents returned from the result.
  const vector = await step('embed_query', async () => {
    await simulatedDelay(8, speed); // a hosted embedding model's round trip
    return embed(question, store.dimensions);
  }, embeddingAttributes({ model: 'sim-embed' }));

  const found = await step('vector_search', async () => {
    await simulatedDelay(3, speed); // a vector database's round trip
    return store.search(vector, topK);
  }, retrievalAttributes({ dataSourceId: store.id, topK }));

  const messages = step('prompt_construction', () => buildPrompt(question, found, options.prompt));

  // `input`: the prompt, kept on the span and for evaluators when `llm.captureContent` is on.
  const completion = await traceLLM({ model: SIMULATED_MODEL, provider: 'simulated', temperature: 0, maxTokens: 256, input: messages }, () =>
    llm.chat.completions.create({ model: SIMULATED_MODEL, messages, temperature: 0, max_tokens: 256 }));

  return step('response_formatting', () => ({
    answer: completion.choices[0]?.message.content.trim() ?? '',
    sources: found.map((r) => ({ id: r.document.id, title: r.document.title, score: Math.round(r.score * 1000) / 1000 })),
    model: completion.model,
    usage: { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens },
  }));
}
