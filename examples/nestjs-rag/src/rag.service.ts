import { Inject, Injectable } from '@nestjs/common';
import { LlmscopePrompts, PromptVersion, RagStep, TraceLLM, retrievalAttributes, type Prompt } from '@llmscope/nestjs';
// Relative import: works with or without the npm workspace link of @llmscope/example-kit.
import {
  DATA_SOURCE_ID, DOCUMENTS, InMemoryVectorStore, PROMPT, RAG_ATTRIBUTES, SIMULATED_MODEL, SimulatedLLM, buildPrompt, embed, simulatedDelay, speedFromEnv,
  type Answer, type ChatCompletion, type ChatMessage, type ScoredDocument,
} from '../../shared/src';

const TOP_K = 3;
// Built once: embedding the knowledge base is start-up work, not per-request work.
const store = new InMemoryVectorStore(DATA_SOURCE_ID).add(DOCUMENTS);

/**
 * The RAG pipeline of the example, one decorated method per stage: each `@RagStep` is a child
 * span of the request, `@TraceLLM` the LLM span and metrics, and the class-level
 * `@PromptVersion(PROMPT.name)` (no version) tags every LLM call made inside with the prompt's name
 * and this user's version of the experiment (v1 or v2, the shared options' rag-answer experiment).
 */
@Injectable()
@PromptVersion(PROMPT.name)
export class RagService {
  private readonly speed = speedFromEnv();
  private readonly llm = new SimulatedLLM({ speed: this.speed });

  constructor(@Inject(LlmscopePrompts) private readonly prompts: LlmscopePrompts) {}

  /** Answers a question about the example product. */
  async answer(question: string): Promise<Answer> {
    // The same version the decorator picked for this request: the experiment's variant.
    const prompt = await this.prompts.get(PROMPT.name);
    const vector = await this.embedQuery(question);
    const found = await this.search(vector);
    const messages = this.buildPrompt(question, found, prompt);
    const completion = await this.complete(messages);
    return this.format(completion, found);
  }

  @RagStep('embed_query', { [RAG_ATTRIBUTES.embeddingDimensions]: store.dimensions })
  async embedQuery(question: string): Promise<number[]> {
    await simulatedDelay(8, this.speed); // a hosted embedding model's round trip
    return embed(question, store.dimensions);
  }

  // retrievalAttributes(): the step's kind, so that llmscope counts the documents returned and,
  // with evaluators and content capture on, keeps their ids and texts for citationEvaluator().
  @RagStep('vector_search', retrievalAttributes({ dataSourceId: store.id, topK: TOP_K }))
  async search(vector: number[]): Promise<ScoredDocument[]> {
    await simulatedDelay(3, this.speed); // a vector database's round trip
    return store.search(vector, TOP_K);
  }

  @RagStep('prompt_construction')
  buildPrompt(question: string, found: readonly ScoredDocument[], prompt: Prompt): ChatMessage[] {
    return buildPrompt(question, found, prompt);
  }

  // Usage and response model are read from the OpenAI-shaped completion the method returns.
  // inputFrom: the prompt is the method's first argument (content capture and the judge read it).
  @TraceLLM({ model: SIMULATED_MODEL, provider: 'simulated', temperature: 0, maxTokens: 256, inputFrom: (args) => args[0] })
  complete(messages: ChatMessage[]): Promise<ChatCompletion> {
    return this.llm.chat.completions.create({ model: SIMULATED_MODEL, messages, temperature: 0, max_tokens: 256 });
  }

  @RagStep('response_formatting')
  format(completion: ChatCompletion, found: readonly ScoredDocument[]): Answer {
    return {
      answer: completion.choices[0]?.message.content.trim() ?? '',
      sources: found.map((r) => ({ id: r.document.id, title: r.document.title, score: Math.round(r.score * 1000) / 1000 })),
      model: completion.model,
      usage: { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens },
    };
  }
}
