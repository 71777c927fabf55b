import express, { type Express, type Request } from 'express';
import { llmscope, getContext, getPrompt, setFeature, type Llmscope, type LlmscopeOptions } from '@llmscope/express';
import { llmscopeConsole, type ConsoleOptions, type LlmscopeConsole } from '@llmscope/console';
// Relative import: works with or without the npm workspace link of @llmscope/example-kit.
import { answerQuestion, describeEndpoints, exampleLlmscopeOptions, PROMPT } from '../../shared/src';

/** Options of {@link createApp}; the defaults are what `npm start` runs. */
export interface AppOptions {
  /** llmscope options, over the example's own (the price of sim-gpt, the evaluators, the feedback route). Each trace prints as a tree outside production. */
  llmscope?: LlmscopeOptions<Request>;
  /** Speed factor of the simulated LLM (default: `SIM_LLM_SPEED`, else real-looking latency). */
  speed?: number;
  /** Share of the answers the relevance judge grades (default 0.5). */
  judgeSampleRate?: number;
  /** Options of the local console at /llmscope (`@llmscope/console`); `false`: not mounted. */
  console?: ConsoleOptions | false;
}

/** The Express app, with the llmscope instance behind its middleware (to flush it on exit) and the console. */
export type ExampleApp = Express & { readonly llmscope: Llmscope; readonly console: LlmscopeConsole | undefined };

/** The example RAG chat API: `POST /chat` answers questions about a fictional product. */
export function createApp(options: AppOptions = {}): ExampleApp {
  const app = express();
  // First, so that everything after it (body parser included) runs inside the request's context.
  // User and session come from the x-user-id / x-session-id headers by default. The shared options
  // price the simulated model and score its answers: citations on every call, a judge on a
  // sample, and human feedback at POST /llmscope/feedback (examples/shared/src/evaluations.ts).
  const scoring = exampleLlmscopeOptions({ judgeSampleRate: options.judgeSampleRate, speed: options.speed });
  const mw = llmscope({ ...scoring, ...options.llmscope, llm: { ...scoring.llm, ...options.llmscope?.llm } });
  app.use(mw);
  // The local console at /llmscope: the requests, traces, sessions, cost and prompt versions in the
  // browser (outside production; the middleware serves it before the app's routes).
  const console = options.console === false ? undefined : llmscopeConsole(mw.llmscope, options.console);
  app.use(express.json());

  app.get('/', (req, res) => {
    res.json(describeEndpoints('Express', `${req.protocol}://${req.get('host') ?? 'localhost'}`));
  });

  app.post('/chat', async (req, res) => {
    const question: unknown = req.body?.question;
    if (typeof question !== 'string' || question.trim() === '' || question.length > 2000) {
      res.status(400).json({ error: 'send {"question": "..."} (a non-empty string of at most 2000 characters)' });
      return;
    }
    // Label of the cost metric and attribute of the spans: what the request is for.
    setFeature('chat');
    // The prompt: this user's version of the rag-answer experiment (v1 or v2, see the shared options);
    // getting it sets the request's prompt name and version for the spans, metrics and scores.
    const prompt = await getPrompt(PROMPT.name);
    const { answer, sources } = await answerQuestion(question, { speed: options.speed, prompt });
    res.json({ answer, sources, traceId: getContext()?.traceId });
  });

  return Object.assign(app, { llmscope: mw.llmscope, console });
}
