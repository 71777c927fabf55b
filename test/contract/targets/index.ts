import type { ContractTarget } from '../target';
import { expressTarget } from './express';
import { express4Target } from './express4';
import { fastifyTarget } from './fastify';
import { fastify4Target } from './fastify4';
import { nestExpressTarget } from './nest-express';
import { nestFastifyTarget } from './nest-fastify';
import { nodeTarget } from './node';

/** Every adapter under contract. Add a target here and the whole suite runs against it. */
export const targets: ContractTarget[] = [expressTarget, express4Target, fastifyTarget, fastify4Target, nestExpressTarget, nestFastifyTarget, nodeTarget];
