/**
 * The packages as published: the consumer apps next to this file run (or, for types/, type-check)
 * against the built packages (dist), resolving `@llmscope/*` through node_modules' workspace links
 * like an installed dependency. `npm test` builds first; run `npm run build` before running this
 * project alone. See docs/packaging.md.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const PACKAGES = ['core', 'express', 'fastify', 'nestjs', 'node', 'testkit', 'console'];
// Child processes and a tsc run, next to the other Jest projects on a busy machine.
const TIMEOUT = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  output: string;
}

/** Runs a command; resolves with its exit code and combined output (never rejects). */
function run(file: string, args: string[], cwd = __dirname, timeout = TIMEOUT - 10_000): Promise<Run> {
  return new Promise((resolve) => {
    // No NODE_OPTIONS: Jest's --experimental-vm-modules is not what an app runs with.
    const env = { ...process.env, NODE_OPTIONS: '' };
    execFile(file, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, output: `${stdout}${stderr}` });
    });
  });
}

type ExportTarget = string | { [condition: string]: ExportTarget };

/** Every file an exports map points at. */
function targets(target: ExportTarget): string[] {
  return typeof target === 'string' ? [target] : Object.values(target).flatMap(targets);
}

describe('published packages', () => {
  it.each(PACKAGES)('@llmscope/%s: every exports target is built', (name) => {
    const dir = join(root, 'packages', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, ExportTarget> };
    const missing = Object.values(pkg.exports).flatMap(targets).filter((file) => !existsSync(join(dir, file)));
    expect(missing).toEqual([]);
  });

  it.each(['esm.mjs', 'cjs.cjs', 'nest.mjs', 'nest.cjs'])('%s runs against the built packages', async (file) => {
    const result = await run(process.execPath, [join(__dirname, file)]);
    if (result.code !== 0) throw new Error(`node ${file} exited with ${String(result.code)}:\n${result.output}`);
  }, TIMEOUT);

  it('types/esm.mts and types/cjs.cts type-check with module nodenext', async () => {
    const result = await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(__dirname, 'types', 'tsconfig.json')]);
    if (result.code !== 0) throw new Error(`tsc -p test/consumers/types failed:\n${result.output}`);
  }, TIMEOUT);

  it('npm pack publishes the ES module entries and not the build info', async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts', ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], root);
    if (result.code !== 0) throw new Error(`npm pack --dry-run failed:\n${result.output}`);
    const packed = JSON.parse(result.stdout) as { name: string; files: { path: string }[] }[];
    for (const { name, files } of packed) {
      const paths = files.map((f) => f.path);
      expect({ name, esm: paths.includes('dist/esm/index.mjs') && paths.includes('dist/esm/index.d.mts') }).toEqual({ name, esm: true });
      expect({ name, buildInfo: paths.filter((p) => p.endsWith('.tsbuildinfo')) }).toEqual({ name, buildInfo: [] });
    }
    expect(packed.map((p) => p.name).sort()).toEqual(PACKAGES.map((p) => `@llmscope/${p}`).sort());
    // The console's UI ships prebuilt: served from the package, never built at the user's install.
    const consolePaths = packed.find((p) => p.name === '@llmscope/console')!.files.map((f) => f.path);
    expect(consolePaths.filter((p) => p.startsWith('ui/')).sort()).toEqual(readdirSync(join(root, 'packages', 'console', 'ui')).map((f) => `ui/${f}`).sort());
  }, TIMEOUT);
});
