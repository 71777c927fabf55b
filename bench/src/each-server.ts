/**
 * What the bench's diagnostic scripts (`gc.ts`, `profile.ts`) share: their command line, and one
 * server process per configuration run as in `run.ts` (pinned to core 1, load from core 0, the
 * local OTLP sink, `serverEnv`).
 */
import { CONFIGS, serverEnv, type BenchConfig } from './configs';
import { pinSelf, ServerProcess } from './process';
import { startSink } from './sink';

const args = process.argv.slice(2);

/** The value after `name` on the command line (`--only x`), if given. */
export function cliArg(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Whether `name` contains one of `--only`'s texts (commas separate them); undefined without `--only`. */
export function chosenByOnly(name: string): boolean | undefined {
  return cliArg('--only')?.split(',').some((text) => name.includes(text));
}

/**
 * Runs `body` for each configuration whose name contains `--only` (commas separate alternatives;
 * default: `defaults`), each in a server process of its own, stopped afterwards. `nodeFlags` and
 * `stdout` as ServerProcess.start.
 */
export async function eachServer(defaults: readonly string[], body: (config: BenchConfig, server: ServerProcess) => Promise<void>, nodeFlags: string[] = [], stdout: 'inherit' | 'pipe' = 'inherit'): Promise<void> {
  pinSelf(0);
  const sink = await startSink();
  try {
    for (const config of CONFIGS.filter((c) => chosenByOnly(c.name) ?? defaults.includes(c.name))) {
      const server = await ServerProcess.start(config.script, config.variant, serverEnv(config, sink.url), 1, nodeFlags, stdout);
      try {
        await body(config, server);
      } finally {
        await server.stop();
      }
    }
  } finally {
    sink.server.close();
  }
}

/** Runs a script's `main`, exiting with an error status if it fails. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
