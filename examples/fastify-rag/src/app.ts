import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { llmscope, getContext, getPrompt, setFeature, type LlmscopeFastifyOptions } from '@llmscope/fastify';
import { llmscopeConsole, type ConsoleOptions, type LlmscopeConsole } from '@llmscope/console';
// Relative import: works with or without the npm workspace link of @llmscope/example-kit.
import { answerQuestion, describeEndpoints, exampleLlmscopeOptions, PROMPT } from '../../shared/src';

/** Options of {@link createApp}; the defaults are what `npm run start:fastify` runs. */
export interface AppOptions {
  /** llmscope options, over the example's own (the price of sim-gpt, the evaluators, the feedback route). Each trace prints as a tree outside production. */
  llmscope?: LlmscopeFastifyOptions;
  /** Speed factor of the simulated LLM (default: `SIM_LLM_SPEED`, else real-looking latency). */
  speed?: number;
  /** Fastify's logger option (default: off, the trace trees say what happened). */
  logger?: FastifyServerOptions['logger'];
  /** Share of the answers the relevance judge grades (default 0.5). */
  judgeSampleRate?: number;
  /** Options of the local console at /llmscope (`@llmscope/console`); `false`: not mounted. */
  console?: ConsoleOptions | false;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The example's local console (closed with the app); undefined when not mounted. */
    llmscopeConsole: LlmscopeConsole | undefined;
  }
}

interface ChatBody {
  question: string;
}

// Fastify validates the body before the handler runs; an invalid one gets a 400 that says why.
const chatSchema = {
  body: {
    type: 'object',
    required: ['question'],
    properties: { question: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } },
  },
} as const;

/** The example RAG chat API: `POST /chat` answers questions about a fictional product. */
export async function createApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });
  // First, and awaited: its hooks (fastify-plugin, so not encapsulated) then cover every route
  // and plugin registered after it, and the 404 handler. User and session come from the
  // x-user-id / x-session-id headers by default. The shared options price the simulated model and
  // score its answers: citations on every call, a judge on a sample, and human feedback at
  // POST /llmscope/feedback (examples/shared/src/evaluations.ts).
  const scoring = exampleLlmscopeOptions({ judgeSampleRate: options.judgeSampleRate, speed: options.speed });
  await app.register(llmscope, { ...scoring, ...options.llmscope, llm: { ...scoring.llm, ...options.llmscope?.llm } });
  // The local console at /llmscope: the requests, traces, sessions, cost and prompt versions in the
  // browser (outside production; the plugin's request hook serves it, no Fastify route).
  const console = options.console === false ? undefined : llmscopeConsole(app.llmscope, options.console);
  app.decorate('llmscopeConsole', console);
  if (console !== undefined) app.addHook('onClose', async () => console.close());

  app.get('/', async (req) => describeEndpoints('Fastify', `${req.protocol}://${req.host || 'localhost'}`));

  app.post<{ Body: ChatBody }>('/chat', { schema: chatSchema }, async (req) => {
    setFeature('chat');
    // The prompt: this user's version of the rag-answer experiment (v1 or v2, see the shared options);
    // getting it sets the request's prompt name and version for the spans, metrics and scores.
    const prompt = await getPrompt(PROMPT.name);
    const { answer, sources } = await answerQuestion(req.body.question, { speed: options.speed, prompt });
    return { answer, sources, traceId: getContext()?.traceId };
  });

  return app;
}
