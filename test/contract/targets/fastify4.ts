import { Readable } from 'node:stream';
import Fastify, { type FastifyPluginAsync } from 'fastify4';
import { llmscope } from '@llmscope/fastify';
import { baggageHandler, boomHandler, chatHandler, meHandler, plainHandler, slowHandler, sseFrames, taggedHandler, userHandler } from '../scenario';
import type { ContractTarget } from '../target';

// targets/fastify.ts on Fastify 4 (the `fastify4` alias, npm:fastify@^4.29): the same app, the same plugin.
// The plugin is typed against the Fastify 5 types this repository compiles with; an app on Fastify 4
// compiles against its own (the declarations import `fastify`), so the cast is for this file only.
const plugin = llmscope as unknown as FastifyPluginAsync<NonNullable<Parameters<typeof llmscope>[1]>>;

// `/api/v1/items/:id` comes from two nested register prefixes, the Fastify way to mount.
const items: FastifyPluginAsync = async (v1) => {
  v1.get<{ Params: { id: string } }>('/items/:id', async (req) => userHandler(req.params.id));
};
const api: FastifyPluginAsync = async (instance) => {
  await instance.register(items, { prefix: '/v1' });
};

export const fastify4Target: ContractTarget = {
  name: 'fastify4',
  closeFlushes: true,
  async start(options) {
    const app = Fastify();
    if (!app.version.startsWith('4.')) throw new Error(`the fastify4 target runs Fastify ${app.version}`);
    await app.register(plugin, options ?? {});
    app.get<{ Params: { id: string } }>('/users/:id', async (req) => userHandler(req.params.id));
    await app.register(api, { prefix: '/api' });
    app.get('/boom', async () => boomHandler());
    app.get('/tagged', async () => taggedHandler());
    app.post<{ Body: { question?: unknown } }>('/chat', async (req) => chatHandler(String(req.body?.question)));
    app.get('/me', async () => meHandler());
    app.get('/plain', async () => plainHandler());
    app.get('/slow', async () => slowHandler());
    // The Fastify way to stream: send a Readable; Fastify pipes it and ends the response with it.
    app.get('/stream', async (_req, reply) => reply.header('content-type', 'text/event-stream').header('cache-control', 'no-cache').send(Readable.from(sseFrames())));
    app.get('/baggage', async () => baggageHandler());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('fastify 4 did not listen on a TCP port');
    return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
  },
};
