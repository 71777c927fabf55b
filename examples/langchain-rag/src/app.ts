import express, { type Express, type Request } from 'express';
import { BaseRetriever } from '@langchain/core/retrievers';
import { Document } from '@langchain/core/documents';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatOpenAI } from '@langchain/openai';
import { llmscope, getContext, llmscopeLangChainHandler, setFeature, setPromptVersion, type Llmscope, type LlmscopeOptions } from '@llmscope/express';
// Relative import: works with or without the npm workspace link of @llmscope/example-kit.
import { DATA_SOURCE_ID, DOCUMENTS, InMemoryVectorStore, embed } from '../../shared/src';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Base URL of an OpenAI-compatible API (`OPENAI_BASE_URL`): the testkit LLM server in the tests and in `npm start`. */
  baseURL: string;
  /** API key (`OPENAI_API_KEY`). */
  apiKey: string;
  /** Chat model. Default `gpt-4o-mini`. */
  model?: string;
  /** llmscope options. */
  llmscope?: LlmscopeOptions<Request>;
}

/** The Express app, with the llmscope instance behind its middleware (to flush it on exit). */
export type ExampleApp = Express & { readonly llmscope: Llmscope };

/** The knowledge base as a LangChain retriever: the example kit's in-memory vector store. */
class KnowledgeBaseRetriever extends BaseRetriever {
  override lc_namespace = ['llmscope', 'examples'];
  private readonly store = new InMemoryVectorStore(DATA_SOURCE_ID).add(DOCUMENTS);

  override async _getRelevantDocuments(query: string): Promise<Document[]> {
    return this.store.search(embed(query), 3).map((d) => new Document({ pageContent: d.text, metadata: { id: d.id, title: d.document.title, score: d.score } }));
  }
}

const PROMPT = ChatPromptTemplate.fromMessages([
  ['system', 'You answer questions about Orbit Notes from the context below only, citing the [id] of each document you use.\n\n{context}'],
  ['human', '{question}'],
]);

/**
 * The example RAG chat API: `POST /chat` retrieves three help articles with a LangChain retriever
 * and answers with a prompt → ChatOpenAI → string parser chain. llmscope sees all of it through
 * one callback handler: the retriever as a retrieval step, the chain and its runnables as steps,
 * the model call as an LLM call (tokens, cost, time to first token), under the request's span.
 */
export function createApp(options: AppOptions): ExampleApp {
  const app = express();
  const mw = llmscope(options.llmscope);
  app.use(mw);
  app.use(express.json());

  const retriever = new KnowledgeBaseRetriever();
  const model = new ChatOpenAI({ model: options.model ?? 'gpt-4o-mini', apiKey: options.apiKey, configuration: { baseURL: options.baseURL }, temperature: 0.2, maxTokens: 400 });
  const answerChain = PROMPT.pipe(model).pipe(new StringOutputParser());

  app.post('/chat', async (req, res) => {
    const question: unknown = req.body?.question;
    if (typeof question !== 'string' || question.trim() === '' || question.length > 2000) {
      res.status(400).json({ error: 'send {"question": "..."} (a non-empty string of at most 2000 characters)' });
      return;
    }
    setFeature('chat');
    setPromptVersion('rag-answer', 'v1');
    // One handler per request: it keeps the runs in flight of this request's chains.
    const callbacks = [llmscopeLangChainHandler()];
    const docs = await retriever.invoke(question, { callbacks, runName: 'knowledge_base' });
    const context = docs.map((d) => `[${String(d.metadata.id)}] ${d.pageContent}`).join('\n');
    // Streamed (`.stream()`, not `streaming: true`, which has LangChain count the prompt's tokens
    // with an encoding it downloads): llmscope times the first token. Collected here; an app
    // could write each piece to the response instead.
    let answer = '';
    for await (const piece of await answerChain.stream({ context, question }, { callbacks, runName: 'answer' })) answer += piece;
    res.json({ answer, sources: docs.map((d) => ({ id: d.metadata.id, title: d.metadata.title })), traceId: getContext()?.traceId });
  });

  return Object.assign(app, { llmscope: mw.llmscope });
}
