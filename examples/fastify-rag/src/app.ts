import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { llmscope, getContext, setFeature, type LlmscopeFastifyOptions } from '@llmscope/fastify';
// Relative import: works with or without the npm workspace link of @llmscope/example-kit.
import { answerQuestion, describeEndpoints } from '../../shared/src';

/** Options of {@link createApp}; the defaults are what `npm run start:fastify` runs. */
export interface AppOptions {
  /** llmscope options (default: none, so each trace prints as a tree outside production). */
  llmscope?: LlmscopeFastifyOptions;
  /** Speed factor of the simulated LLM (default: `SIM_LLM_SPEED`, else real-looking latency). */
  speed?: number;
  /** Fastify's logger option (default: off, the trace trees say what happened). */
  logger?: FastifyServerOptions['logger'];
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
  // x-user-id / x-session-id headers by default.
  await app.register(llmscope, options.llmscope ?? {});

  app.get('/', async (req) => describeEndpoints('Fastify', `${req.protocol}://${req.host || 'localhost'}`));

  app.post<{ Body: ChatBody }>('/chat', { schema: chatSchema }, async (req) => {
    setFeature('chat');
    const { answer, sources } = await answerQuestion(req.body.question, { speed: options.speed });
    return { answer, sources, traceId: getContext()?.traceId };
  });

  return app;
}
