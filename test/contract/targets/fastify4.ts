// targets/fastify.ts on Fastify 4 (the `fastify4` alias, npm:fastify@^4.29): the same app, the same
// plugin. Fastify 4's factory has its own types; the app built here uses only what both majors
// share, so it is typed as Fastify 5's for the shared builder (the cast is for this file only).
import Fastify4 from 'fastify4';
import type Fastify from 'fastify';
import { fastifyTargetOn } from './fastify';

export const fastify4Target = fastifyTargetOn('fastify4', Fastify4 as unknown as typeof Fastify, '4');
