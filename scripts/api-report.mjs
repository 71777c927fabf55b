#!/usr/bin/env node
// The recorded public API: one API Extractor report per package entry, packages/<pkg>/etc/*.api.md,
// from the built declarations (run after `npm run build`). See docs/packaging.md.
//
//   node scripts/api-report.mjs            check: fails, printing the diff, when a report differs
//   node scripts/api-report.mjs --update   rewrite the reports (npm run api:update), then review the diff
//
// The packages are those the root tsconfig.build.json builds, the entries come from each one's
// `exports` map (the "require" types of every subpath): a new package or entry point is picked
// up without configuration. `.` of @llmscope/core is etc/core.api.md, `./adapter` is
// etc/core-adapter.api.md.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

/** The packages referenced by the root tsconfig.build.json (what `tsc -b tsconfig.build.json` builds). */
function builtPackages() {
  const text = readFileSync(join(root, 'tsconfig.build.json'), 'utf8');
  return [...new Set([...text.matchAll(/"path":\s*"(?:\.\/)?packages\/([^/"]+)/g)].map((m) => m[1]))];
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** [{ dir, pkg, subpath, dts, reportName }] for every package entry with CommonJS types. */
function entries() {
  const list = [];
  for (const name of builtPackages().sort()) {
    const dir = join(root, 'packages', name);
    const pkg = readJson(join(dir, 'package.json'));
    if (pkg.private || pkg.exports === undefined) continue;
    if (only.length > 0 && !only.includes(name) && !only.includes(pkg.name)) continue;
    const unscoped = pkg.name.replace(/^@[^/]+\//, '');
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const dts = typeof target === 'object' && target !== null ? target.require?.types : undefined;
      if (typeof dts !== 'string') continue;
      const suffix = subpath === '.' ? '' : '-' + subpath.replace(/^\.\//, '').replace(/[/.]/g, '-');
      list.push({ dir, pkg, subpath, dts: join(dir, dts), reportName: unscoped + suffix });
    }
  }
  return list;
}

function configFor({ dir, dts, reportName }) {
  const tempFolder = join(root, 'node_modules', '.cache', 'api-extractor', reportName);
  mkdirSync(tempFolder, { recursive: true });
  return {
    projectFolder: dir,
    mainEntryPointFilePath: dts,
    bundledPackages: [],
    newlineKind: 'lf',
    enumMemberOrder: 'by-name',
    compiler: {
      // The declarations as a CommonJS app under module node20 sees them (Nest 12 is ES
      // modules only, and node20 lets CommonJS declarations import it).
      overrideTsconfig: {
        compilerOptions: { module: 'node20', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2022'], types: ['node'], strict: true, skipLibCheck: true },
        files: [dts],
      },
      skipLibCheck: true,
    },
    apiReport: {
      enabled: true,
      reportFileName: reportName,
      reportFolder: join(dir, 'etc'),
      reportTempFolder: tempFolder,
      includeForgottenExports: false,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: 'error' } },
      extractorMessageReporting: {
        default: { logLevel: 'warning' },
        // Release tags (@public, @beta) are not used in this repository.
        'ae-missing-release-tag': { logLevel: 'none' },
        // A public signature that names an unexported type is an API fact: recorded in the report.
        'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
        // {@link} targets in doc comments are documentation, not API.
        'ae-unresolved-link': { logLevel: 'none' },
        'ae-undocumented': { logLevel: 'none' },
      },
      // Doc comment syntax is not API; the docs pages are the documentation.
      tsdocMessageReporting: { default: { logLevel: 'none' } },
    },
  };
}

let failed = 0;
const all = entries();
const missing = all.filter((entry) => !existsSync(entry.dts));
for (const entry of missing) {
  console.error(`api-report: ${entry.pkg.name + entry.subpath.slice(1)}: ${entry.dts} is missing; run npm run build first`);
}
if (missing.length > 0) process.exit(1);

const configs = all.map((entry) => {
  mkdirSync(join(entry.dir, 'etc'), { recursive: true });
  return ExtractorConfig.prepare({
    configObject: configFor(entry),
    configObjectFullPath: undefined,
    packageJsonFullPath: join(entry.dir, 'package.json'),
  });
});
// One TypeScript program for every entry (the slow part), instead of one per entry.
const compilerState = configs.length > 0 ? CompilerState.create(configs[0], { additionalEntryPoints: all.map((e) => e.dts) }) : undefined;

for (const [i, entry] of all.entries()) {
  const label = entry.pkg.name + entry.subpath.slice(1);
  const result = Extractor.invoke(configs[i], {
    compilerState,
    localBuild: update,
    printApiReportDiff: !update,
    messageCallback(message) {
      // "Analysis will use the bundled TypeScript version": expected, API Extractor bundles its own compiler.
      if (message.messageId === 'console-preamble' || message.messageId === 'console-compiler-version-notice') message.logLevel = ExtractorLogLevel.None;
      // In --update mode, rewriting a changed report is the point, not a warning.
      if (update && (message.messageId === 'console-api-report-copied' || message.messageId === 'console-api-report-created')) {
        console.log(`api-report: updated ${entry.reportName}.api.md (${label})`);
        message.logLevel = ExtractorLogLevel.None;
      }
    },
  });
  if (!result.succeeded) {
    failed++;
    console.error(
      result.apiReportChanged && !update
        ? `api-report: the public API of ${label} differs from packages/${entry.dir.split('/').pop()}/etc/${entry.reportName}.api.md. If the change is intended, run \`npm run api:update\` and commit the report.`
        : `api-report: ${label}: ${result.errorCount} errors, ${result.warningCount} warnings`,
    );
  }
}
if (failed > 0) process.exit(1);
console.log(update ? 'api-report: reports written' : 'api-report: every API report is up to date');
