import express from 'express';
import { llmscope, setPromptVersion, setFeature, step, traceLLM, type LlmscopeMiddleware, type LlmscopeOptions } from '@llmscope/express';
import { listen, type Listening } from '@llmscope/testkit';

/** A small RAG app instrumented with llmscope, for the exporter tests. */
export interface RagApp {
  url: string;
  mw: LlmscopeMiddleware;
  listening: Listening;
  close(): Promise<void>;
}

/** An OpenAI-shaped chat completion, as the SDK returns it. */
export function completion(text: string): object {
  return {
    id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
  };
}

/**
 * `POST /chat/:id` runs embed_query, vector_search, prompt_construction and an LLM call (the
 * question, from the JSON body, becomes the prompt); `GET /boom` throws; `GET /ping` answers.
 */
export async function ragApp(options: LlmscopeOptions<express.Request>, extend?: (app: express.Express) => void): Promise<RagApp> {
  const app = express();
  const mw = llmscope(options);
  app.use(mw);
  app.use(express.json());
  app.get('/ping', (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/chat/:id', async (req, res) => {
    const question = String((req.body as { question?: unknown }).question ?? '');
    setFeature('support-chat');
    setPromptVersion('rag-answer', '3');
    const vector = await step('embed_query', async () => [0.1, 0.2]);
    const docs = await step('vector_search', async () => [`doc for ${vector.length}`]);
    const prompt = await step('prompt_construction', () => `Context: ${docs.join(',')}\nQuestion: ${question}`);
    const answer = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', temperature: 0.2, maxTokens: 256 }, async () => {
      void prompt;
      return completion('Here is the answer.');
    });
    res.json(answer);
  });
  app.get('/boom', () => {
    throw new TypeError('kaboom for user alice@example.com');
  });
  extend?.(app);
  const listening = await listen(app);
  return { url: listening.url, mw, listening, close: () => listening.close() };
}

/** Sends `POST /chat/:id` as the given user and session; returns the response's trace id. */
export async function chat(url: string, question: string, user = 'user-42', session = 'sess-7'): Promise<string> {
  const res = await fetch(`${url}/chat/1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': user, 'x-session-id': session },
    body: JSON.stringify({ question }),
  });
  if (res.status !== 200) throw new Error(`chat answered ${res.status}`);
  await res.arrayBuffer();
  return res.headers.get('x-trace-id') ?? '';
}
