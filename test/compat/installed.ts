import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest folder up from the working directory whose package.json is the monorepo's. */
export function repoRoot(): string {
  let dir = process.cwd();
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'llmscope-monorepo') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no llmscope-monorepo package.json above ${process.cwd()}`);
    dir = up;
  }
}

/**
 * The version of the package installed at `node_modules/<name>` under `folder` (relative to the
 * repository root): the alias name for aliased installs (`express417` is npm:express@4.17.0).
 * Read from disk rather than `require`, which the ES-module Jest projects do not have.
 */
export function installedVersion(name: string, folder = '.'): string {
  const manifest = join(repoRoot(), folder, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
