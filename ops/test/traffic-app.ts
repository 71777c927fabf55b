/**
 * A small real app for the dashboard test: Express with llmscope, the real `openai` SDK
 * (instrumented) talking to the testkit's fake LLM server, and every signal a panel of the
 * dashboard reads: features, two models (one unpriced), prompt versions, streams (time to first
 * token), provider errors, retries, cache lookups, a queue, evaluators with scores, labels and
 * failure modes, budgets (one exhausted and enforced), tail sampling with an OTLP exporter, and
 * an `identify` hook that throws. `traffic()` sends one round of requests covering all of it.
 */
import express from 'express';
import OpenAI from 'openai';
import {
  instrumentOpenAI, llmscope, recordCacheLookup, recordQueueProcessed, setFeature, setPromptVersion, step, trackQueueDepth,
  type Evaluator, type LlmscopeMiddleware,
} from '@llmscope/express';
import { listen, LlmServer, OtlpReceiver, type Listening } from '@llmscope/testkit';

/** The running app and its fake backends. */
export interface TrafficApp {
  readonly url: string;
  /** host:port, for Prometheus' scrape config. */
  readonly target: string;
  /** Sends one round of requests that feeds every panel; sequential, because the fake LLM's scripted answers are consumed in order. */
  traffic(): Promise<void>;
  close(): Promise<void>;
}

const PROMPT = 'rag-answer';

// Scores by prompt version, so that the quality panels have something to tell apart; v2 also
// reports a failure mode and every call gets a categorical label.
const evaluators: Evaluator[] = [
  {
    name: 'groundedness',
    evaluate: ({ record }) => (record.promptVersion === 'v2' ? { value: 0.4, failureMode: 'hallucination' } : { value: 0.9 }),
  },
  { name: 'tone', evaluate: () => ({ value: 'friendly' }) },
];

async function post(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers });
  await res.arrayBuffer();
  return res.status;
}

/** Starts the app on 127.0.0.1 and a random port. */
export async function startTrafficApp(): Promise<TrafficApp> {
  const llm = await LlmServer.start();
  const receiver = await new OtlpReceiver().start();
  const mw: LlmscopeMiddleware = llmscope({
    identify: (req) => {
      if (req.headers['x-break-identify'] !== undefined) throw new Error('identify failed');
      return undefined;
    },
    llm: { prices: { 'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6, contextWindow: 128_000 }, 'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10, contextWindow: 128_000 } } },
    evaluations: { evaluators },
    budgets: {
      total: { daily: { usd: 10 }, monthly: { usd: 100 } },
      features: { chat: { daily: { usd: 1, tokens: 1_000_000 } }, capped: { daily: { usd: 0.000001 } } },
      // Only the `capped` feature is enforced: its first call spends the budget, the next ones get 429.
      onExhausted: (e) => (e.feature === 'capped' ? 'reject' : 'warn'),
    },
    exporters: { otlp: { url: receiver.tracesUrl } },
    // Small enough that the sampler's drops and evictions happen: a request's trace has more than
    // two spans (its tail drops the rest), and the streamed request outlives 200 ms (evicted).
    sampling: { tail: { maxSpansPerTrace: 2, maxAgeMs: 200 } },
  });
  // Two clients: the default retries (a 429 then a success counts one retry), and one that does
  // not (a 500 is then a provider error).
  const openai = instrumentOpenAI(new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL }));
  const noRetry = instrumentOpenAI(new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 }));
  let depth = 3;
  const stopQueue = trackQueueDepth('jobs', () => depth);
  let lookups = 0;

  const app = express();
  app.use(mw);
  const messages = [{ role: 'user' as const, content: 'What does the product cost?' }];
  app.post('/chat/:version', async (req, res) => {
    setFeature('chat');
    setPromptVersion(PROMPT, req.params.version);
    // Two steps and the LLM call: three spans under the request's, over the sampler's two.
    await step('retrieve', async () => undefined);
    await step('rerank', async () => undefined);
    const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    res.json({ answer: answer.choices[0]?.message.content });
  });
  app.post('/stream', async (_req, res) => {
    setFeature('chat');
    setPromptVersion(PROMPT, 'v1');
    // A step that ends while the stream goes on past the sampler's maxAgeMs: the trace is evicted.
    await step('retrieve', async () => undefined);
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) res.write(chunk.choices[0]?.delta.content ?? '');
    res.end();
  });
  app.post('/summarise', async (_req, res) => {
    setFeature('summarise');
    // No price for this model: counted in llmscope_llm_unpriced_calls_total.
    await openai.chat.completions.create({ model: 'local-llama', messages });
    res.end();
  });
  app.post('/flaky', async (_req, res) => {
    setFeature('chat');
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    res.end();
  });
  app.post('/broken', async (_req, res) => {
    setFeature('chat');
    // Thrown to Express: a provider error and a 500.
    await noRetry.chat.completions.create({ model: 'gpt-4o-mini', messages });
    res.end();
  });
  app.post('/capped', async (_req, res) => {
    setFeature('capped');
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    res.end();
  });
  app.get('/cache/:key', (_req, res) => {
    recordCacheLookup('answers', lookups++ % 3 !== 0);
    res.end();
  });
  app.post('/jobs', (_req, res) => {
    recordQueueProcessed('jobs');
    depth = depth === 3 ? 2 : 3;
    res.end();
  });
  // Errors answered quietly (Express' final handler would print each stack): the provider's 500
  // stays a 500, a budget's BudgetExceededError carries its 429.
  app.use((error: { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(error.status === 429 ? 429 : 500).end();
  });
  const server: Listening = await listen(app);
  const { url } = server;

  return {
    url,
    target: url.replace('http://', ''),
    async traffic() {
      await post(`${url}/chat/v1`);
      await post(`${url}/chat/v2`);
      await post(`${url}/chat/v1`, { 'x-break-identify': '1' });
      llm.enqueue({ firstChunkDelayMs: 20, chunkDelayMs: 100 });
      await post(`${url}/stream`);
      await post(`${url}/summarise`);
      llm.enqueue({ status: 429, retryAfterSeconds: 0.01 });
      await post(`${url}/flaky`);
      llm.enqueue({ status: 500 });
      await post(`${url}/broken`);
      await post(`${url}/capped`);
      await post(`${url}/capped`);
      for (let i = 0; i < 3; i++) await (await fetch(`${url}/cache/q${i}`)).arrayBuffer();
      await post(`${url}/jobs`);
    },
    async close() {
      stopQueue();
      await server.close();
      await mw.llmscope.shutdown(2000);
      await llm.close();
      await receiver.close();
    },
  };
}
