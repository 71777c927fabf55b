import { nestMajor } from '../../compat/nest-major';
import type { ContractTarget } from '../target';
import { expressTarget } from './express';
import { express417Target, express4Target } from './express4';
import { fastifyTarget } from './fastify';
import { fastify410Target, fastify4Target } from './fastify4';
import { nestExpressTarget } from './nest-express';
import { nestFastifyTarget } from './nest-fastify';
import { nodeTarget } from './node';

const nestTargets = [nestExpressTarget, nestFastifyTarget];

/**
 * Every adapter under contract. Add a target here and the whole suite runs against it. The
 * `contract-nest10` / `contract-nest11` projects run the Nest targets only, on that major.
 */
export const targets: ContractTarget[] = nestMajor() === '12' ? [expressTarget, express4Target, express417Target, fastifyTarget, fastify4Target, fastify410Target, ...nestTargets, nodeTarget] : nestTargets;
