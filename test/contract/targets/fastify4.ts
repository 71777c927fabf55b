// targets/fastify.ts on Fastify 4: the newest 4.x (`fastify4` is npm:fastify@^4.29) and the floor
// of the peer range (`fastify410` is npm:fastify@4.10.0). The same app, the same plugin. Fastify
// 4's factory has its own types; the app built here uses only what both majors share, so it is
// typed as Fastify 5's for the shared builder (the casts are for this file only).
import Fastify4 from 'fastify4';
import Fastify410 from 'fastify410';
import type Fastify from 'fastify';
import { fastifyTargetOn } from './fastify';

export const fastify4Target = fastifyTargetOn('fastify4', Fastify4 as unknown as typeof Fastify, '4', 'fastify4');
export const fastify410Target = fastifyTargetOn('fastify4.10', Fastify410 as unknown as typeof Fastify, '4.10', 'fastify410');
