// An app on Fastify 4 as its author writes it: checked against Fastify 4's types by
// tsconfig.fastify4.json (and against Fastify 5's by the repository's own type check).
import Fastify, { type FastifyRequest } from 'fastify';
import { llmscope, getContext, setUser, type LlmscopeFastifyOptions } from '@llmscope/fastify';

const options: LlmscopeFastifyOptions = {
  serviceName: 'fastify4-app',
  identify: (req: FastifyRequest) => ({ userId: typeof req.headers['x-user-id'] === 'string' ? req.headers['x-user-id'] : undefined }),
};

export async function start(): Promise<string> {
  const app = Fastify();
  await app.register(llmscope, options);
  app.get<{ Params: { id: string } }>('/users/:id', async (req) => {
    setUser(req.params.id);
    return { route: req.routeOptions.url, user: getContext()?.userId };
  });
  app.setErrorHandler(async (error, _req, reply) => {
    reply.code(422);
    // Fastify 4 types the error as FastifyError, Fastify 5 as unknown: this line compiles on both.
    return { error: error instanceof Error ? error.message : String(error) };
  });
  const registry: unknown = app.llmscope.registry;
  const external: unknown = app.llmscopeRequestHook;
  void registry;
  void external;
  return app.listen({ port: 0, host: '127.0.0.1' });
}
