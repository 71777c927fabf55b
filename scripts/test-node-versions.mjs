#!/usr/bin/env node
// The supported Node majors, in `npm test`: the main Jest run covers the Node that runs it; this
// runs the contract suites (every Jest project named contract*), the package-consumer tests
// (consumers, against the built packages) and the projects that need Node 22 (*-node22, e.g.
// openai 7) on each other supported major, with a Node binary from the npm registry (the `node`
// package), cached in node_modules/.cache/node-versions/<major> (delete it to take a newer patch
// release). With Node 22 it also runs the contract suite on Node 22 with
// --experimental-async-context-frame (Node 24's way of keeping the request context).
// `npm test` builds first; run alone, build first (npm run build).
//
//   node scripts/test-node-versions.mjs            every supported major but the current one
//   node scripts/test-node-versions.mjs 22         only Node 22
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node majors the packages support (engines), each tested here or by the main run. */
const MAJORS = [20, 22, 24];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cacheRoot = join(root, 'node_modules', '.cache', 'node-versions');
const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const currentMajor = Number(process.versions.node.split('.')[0]);

/** Fails the run with `message` (and what was printed on the way). */
function fail(message) {
  console.error(`\ntest-node-versions: ${message}`);
  process.exit(1);
}

/** The `node -v` of `bin`, or undefined when it does not run. */
function versionOf(bin) {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A Node `major` binary: the cached one, else installed from the npm registry into the cache. */
function nodeBinary(major) {
  const dir = join(cacheRoot, String(major));
  const binOf = (d) => join(d, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (versionOf(binOf(dir))?.startsWith(`v${major}.`)) return binOf(dir);
  // Installed beside the cache entry, then renamed into place: another `npm test` running at the
  // same time never sees half an install.
  const staging = `${dir}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const started = performance.now();
  console.log(`test-node-versions: fetching Node ${major} from the npm registry (npm install node@${major})`);
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : [process.platform === 'win32' ? 'npm.cmd' : 'npm'];
  const r = spawnSync(npm[0], [...npm.slice(1), 'install', '--prefix', staging, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node@${major}`], {
    encoding: 'utf8',
    timeout: 300_000,
    // The registry settings of the `npm test` that runs this, not where it installs.
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(local_prefix|prefix|global_prefix|global|call|workspaces?|include_workspace_root)$/i.test(k))),
  });
  const version = versionOf(binOf(staging));
  if (r.status !== 0 || !version?.startsWith(`v${major}.`)) {
    rmSync(staging, { recursive: true, force: true });
    fail(`could not get Node ${major} from the npm registry (npm install node@${major} in ${relative(root, staging)}: ${r.error?.message ?? `exit ${r.status}`}${version === undefined ? ', no working node binary' : `, got ${version}`}).\n${r.stderr ?? ''}\nThe contract and consumer suites must run on Node ${MAJORS.join(', ')}; this machine needs the npm registry (or a filled ${relative(root, cacheRoot)}).`);
  }
  if (!versionOf(binOf(dir))) {
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } else {
    rmSync(staging, { recursive: true, force: true });
  }
  console.log(`test-node-versions: Node ${version} in ${relative(root, dir)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return binOf(dir);
}

/** The Jest projects to run with `bin`, read from the Jest config as that Node loads it. */
function projectsFor(bin) {
  const r = spawnSync(bin, [jestBin, '--showConfig'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) fail(`jest --showConfig failed on ${versionOf(bin)}:\n${r.stderr}`);
  const names = JSON.parse(r.stdout).configs.map((c) => c.displayName?.name ?? '');
  return names.filter((n) => n.startsWith('contract') || n === 'consumers' || n.endsWith('-node22'));
}

/**
 * Runs the selection on `bin` (or `only`, a list of projects, with Node `flags`); returns what
 * the summary says of it.
 */
function run(bin, flags = [], only = undefined) {
  const version = versionOf(bin);
  const projects = only ?? projectsFor(bin);
  if (only === undefined && (!projects.includes('consumers') || !projects.some((p) => p.startsWith('contract')))) fail(`no contract or consumers project in the Jest config on ${version}: ${projects.join(', ')}`);
  console.log(`\ntest-node-versions: Node ${version}${flags.length > 0 ? ` ${flags.join(' ')}` : ''}: ${projects.join(', ')}`);
  const results = join(tmpdir(), `llmscope-node-${version}-${process.pid}.json`);
  const started = performance.now();
  const binDir = dirname(bin);
  // Flags go on the command line: Node 22 refuses --experimental-async-context-frame in NODE_OPTIONS.
  // One project runs in band, in this process, so the flags reach the tests.
  const r = spawnSync(bin, [...flags, jestBin, '--selectProjects', ...projects, ...(flags.length > 0 ? ['--runInBand'] : []), '--json', `--outputFile=${results}`], {
    cwd: root,
    stdio: 'inherit',
    // As the root `test` script sets it; this Node first on PATH for anything that runs `node`.
    env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules', PATH: `${binDir}${process.platform === 'win32' ? ';' : ':'}${process.env.PATH ?? ''}` },
  });
  const seconds = (performance.now() - started) / 1000;
  let summary;
  try {
    summary = JSON.parse(readFileSync(results, 'utf8'));
  } catch {
    summary = undefined;
  } finally {
    rmSync(results, { force: true });
  }
  const skipped = (summary?.numPendingTests ?? 0) + (summary?.numTodoTests ?? 0);
  const ok = r.status === 0 && summary !== undefined && summary.numFailedTests === 0 && summary.numTotalTests > 0 && skipped === 0;
  return { version: flags.length > 0 ? `${version} ${flags.join(' ')}` : version, projects, seconds, ok, passed: summary?.numPassedTests ?? 0, total: summary?.numTotalTests ?? 0, skipped, status: r.status };
}

const asked = process.argv.slice(2).map(Number);
for (const m of asked) if (!MAJORS.includes(m)) fail(`Node ${m} is not a supported major (${MAJORS.join(', ')})`);
const majors = (asked.length > 0 ? asked : MAJORS).filter((m) => asked.length > 0 || m !== currentMajor);
if (!existsSync(jestBin)) fail(`no Jest at ${relative(root, jestBin)}: npm install first`);

const runs = majors.map((m) => run(nodeBinary(m)));
// Node 22 with the async context frame (Node 24's default; docs/nestjs.md suggests it on 22):
// the adapters' contract suite, so that the context is checked on frames there too.
if (majors.includes(22)) runs.push(run(nodeBinary(22), ['--experimental-async-context-frame'], ['contract']));

console.log('\ntest-node-versions: summary');
if (asked.length === 0) {
  const own = currentMajor >= 22 ? 'with the *-node22 projects' : 'without the *-node22 projects (openai 7 needs Node 22+: they ran on the Node versions below)';
  console.log(`  Node ${process.version}: the main Jest run (every project) ${own}`);
}
for (const r of runs) {
  const verdict = r.ok ? 'passed' : r.skipped > 0 ? `FAILED (${r.skipped} skipped: a skipped test counts as failed here)` : `FAILED (exit ${r.status})`;
  console.log(`  Node ${r.version}: ${r.passed}/${r.total} tests ${verdict} in ${r.seconds.toFixed(0)} s (${r.projects.join(', ')})`);
}
if (runs.some((r) => !r.ok)) process.exit(1);
