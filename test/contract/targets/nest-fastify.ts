import { FastifyAdapter } from '@nestjs/platform-fastify';
import { assertNestLoaded, nestMajor } from '../../compat/nest-major';
import type { ContractTarget } from '../target';
import { installedVersion } from '../../compat/installed';
import { startNestApp } from './nest-app';

/** Nest on platform-fastify, of the major the project loads (jest.config.ts: 12, or 10/11 in the `contract-nest*` projects). */
export const nestFastifyTarget: ContractTarget = {
  name: `nest${nestMajor()}-fastify`,
  framework: () => ({ name: 'NestJS', version: installedVersion('@nestjs/core', nestMajor() === '12' ? '.' : `test/compat/nest${nestMajor()}`) }),
  closeFlushes: true,
  start: (options) => {
    assertNestLoaded();
    return startNestApp(new FastifyAdapter(), options);
  },
};
