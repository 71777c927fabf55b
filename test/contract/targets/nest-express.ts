import { ExpressAdapter } from '@nestjs/platform-express';
import type { ContractTarget } from '../target';
import { startNestApp } from './nest-app';

export const nestExpressTarget: ContractTarget = {
  name: 'nest-express',
  closeFlushes: true,
  start: (options) => startNestApp(new ExpressAdapter(), options),
};
