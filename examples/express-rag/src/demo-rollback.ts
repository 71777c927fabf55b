import { runRollbackDemo } from './rollback-demo';

// `npm run demo:rollback`: a candidate prompt made deliberately worse, rolled back by the guard.
void runRollbackDemo({ speed: Number(process.env.SIM_LLM_SPEED ?? 20) }).then((result) => {
  process.exitCode = result.rollback === undefined ? 1 : 0;
});
