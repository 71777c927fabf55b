import { Readable } from 'node:stream';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { llmscope } from '@llmscope/fastify';
import { baggageHandler, boomHandler, chatHandler, meHandler, plainHandler, slowHandler, sseFrames, taggedHandler, userHandler } from '../scenario';
import type { ContractTarget } from '../target';
import { installedVersion } from '../../compat/installed';

// `/api/v1/items/:id` comes from two nested register prefixes, the Fastify way to mount.
const items: FastifyPluginAsync = async (v1) => {
  v1.get<{ Params: { id: string } }>('/items/:id', async (req) => userHandler(req.params.id));
};
const api: FastifyPluginAsync = async (instance) => {
  await instance.register(items, { prefix: '/v1' });
};

/**
 * The scenario app on a Fastify module of version `version` (a prefix: '5', '4', '4.10'):
 * `fastify` (5) here, `fastify4` (npm:fastify@^4.29) and `fastify410` (npm:fastify@4.10.0, the
 * floor of the peer range) in targets/fastify4.ts. The same app and plugin on every version;
 * `pkg` is the installed name.
 */
export function fastifyTargetOn(name: string, fastify: typeof Fastify, version: string, pkg: string): ContractTarget {
  return {
    name,
    framework: () => ({ name: 'Fastify', version: installedVersion(pkg) }),
    closeFlushes: true,
    async start(options) {
      const app = fastify();
      if (!app.version.startsWith(`${version}.`)) throw new Error(`the ${name} target runs Fastify ${app.version}`);
      await app.register(llmscope, options ?? {});
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
      if (address === null || typeof address === 'string') throw new Error(`${name} did not listen on a TCP port`);
      return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
    },
  };
}

export const fastifyTarget = fastifyTargetOn('fastify', Fastify, '5', 'fastify');
