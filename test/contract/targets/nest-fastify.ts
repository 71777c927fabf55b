import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ContractTarget } from '../target';
import { startNestApp } from './nest-app';

export const nestFastifyTarget: ContractTarget = {
  name: 'nest-fastify',
  closeFlushes: true,
  start: (options) => startNestApp(new FastifyAdapter(), options),
};
