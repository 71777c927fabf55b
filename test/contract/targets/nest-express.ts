import { ExpressAdapter } from '@nestjs/platform-express';
import { assertNestLoaded, nestMajor } from '../../compat/nest-major';
import type { ContractTarget } from '../target';
import { installedVersion } from '../../compat/installed';
import { startNestApp } from './nest-app';

/** Nest on platform-express, of the major the project loads (jest.config.ts: 12, or 10/11 in the `contract-nest*` projects). */
export const nestExpressTarget: ContractTarget = {
  name: `nest${nestMajor()}-express`,
  framework: () => ({ name: 'NestJS', version: installedVersion('@nestjs/core', nestMajor() === '12' ? '.' : `test/compat/nest${nestMajor()}`) }),
  closeFlushes: true,
  start: (options) => {
    assertNestLoaded();
    return startNestApp(new ExpressAdapter(), options);
  },
};
