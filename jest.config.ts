/**
 * Loaded with ts-node on every Node version: Node 22.18+ would otherwise import this file as an ES
 * module by itself (type stripping), where `__dirname` does not exist.
 * @jest-config-loader ts-node
 */
import { join } from 'node:path';
import type { Config } from 'jest';

// One project per package. ts-jest only transpiles (isolatedModules); `npm test` type-checks
// everything once with tsc first, which is much faster on 2 cores than per-file checking.
const tsJest: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.json' }],
};

const moduleNameMapper = {
  '^@llmscope/core/adapter$': '<rootDir>/../core/src/adapter.ts',
  '^@llmscope/(core|express|fastify|nestjs|node|testkit|console)$': '<rootDir>/../$1/src/index.ts',
};

function project(name: string): Config {
  return {
    displayName: name,
    rootDir: join(__dirname, 'packages', name),
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    // *.node22.test.ts: the Node 22+ projects below.
    testPathIgnorePatterns: ['/node_modules/', '\\.node22\\.test\\.ts$'],
    transform: tsJest,
    moduleNameMapper,
    testEnvironment: 'node',
    testEnvironmentOptions: { globalsCleanup: 'off' },
  };
}

// Tests of dependencies that require Node 22 (openai 7), in *.node22.test.ts files: a project of
// their own, in the run only on Node 22 and later. On Node 20, `npm test` runs them on Node 22 and
// 24 (scripts/test-node-versions.mjs, which says so).
const onNode22 = Number(process.versions.node.split('.')[0]) >= 22;
const coreNode22: Config = { ...project('core'), displayName: 'core-node22', testMatch: ['<rootDir>/test/**/*.node22.test.ts'], testPathIgnorePatterns: ['/node_modules/'] };

// NestJS 12 is published as ES modules only, and Jest's CommonJS runtime cannot load them
// (no require(esm) there). Projects that load Nest run in Jest's ESM mode instead: test files
// are compiled to ES modules (module ESNext, resolution bundler, over the root tsconfig) and
// the process needs `NODE_OPTIONS=--experimental-vm-modules` (the root `test` script sets it).
function esm(config: Config): Config {
  return {
    ...config,
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { module: 'ESNext', moduleResolution: 'bundler', isolatedModules: true } }],
    },
  };
}

// The same mappings for projects whose rootDir is not a package folder.
const rootMappers = {
  '^@llmscope/core/adapter$': join(__dirname, 'packages/core/src/adapter.ts'),
  '^@llmscope/(core|express|fastify|nestjs|node|testkit|console)$': join(__dirname, 'packages/$1/src/index.ts'),
};

const examples: Config = {
  displayName: 'examples',
  rootDir: join(__dirname, 'examples'),
  testMatch: ['<rootDir>/*/test/**/*.test.ts'],
  // The Nest example runs in the ESM project below; *.node22.test.ts (LangChain's OpenAI provider needs Node 22) in examples-node22.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/nestjs-rag/', '\\.node22\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: join(__dirname, 'tsconfig.json') }] },
  moduleNameMapper: rootMappers,
  testEnvironment: 'node',
  testEnvironmentOptions: { globalsCleanup: 'off' },
};

const contract: Config = {
  displayName: 'contract',
  rootDir: join(__dirname, 'test', 'contract'),
  testMatch: ['<rootDir>/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: join(__dirname, 'tsconfig.json') }] },
  moduleNameMapper: rootMappers,
  testEnvironment: 'node',
  testEnvironmentOptions: { globalsCleanup: 'off' },
};

// The built packages as an app installs them (dist, through node_modules): consumer apps in
// .mjs/.cjs run in child processes and .mts/.cts consumers type-check. `npm test` builds first.
const consumers: Config = {
  displayName: 'consumers',
  rootDir: join(__dirname, 'test', 'consumers'),
  testMatch: ['<rootDir>/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: join(__dirname, 'tsconfig.json') }] },
  testEnvironment: 'node',
};

// The benchmark's report logic (bench/src: pure functions; CI runs no benchmark).
const bench: Config = { ...consumers, displayName: 'bench', rootDir: join(__dirname, 'bench'), testMatch: ['<rootDir>/test/**/*.test.ts'] };

// Property-based fuzzing and shutdown under load (test/reliability): real servers of every
// contract target, Nest 12 included, hence the ESM mode.
const reliability: Config = esm({ ...contract, displayName: 'reliability', rootDir: join(__dirname, 'test', 'reliability') });

// The operations pack (ops/): the Grafana dashboard proved against a real Prometheus.
const ops: Config = {
  displayName: 'ops',
  rootDir: join(__dirname, 'ops'),
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: join(__dirname, 'tsconfig.json') }] },
  moduleNameMapper: rootMappers,
  testEnvironment: 'node',
  testEnvironmentOptions: { globalsCleanup: 'off' },
};

const examplesNode22: Config = { ...examples, displayName: 'examples-node22', testMatch: ['<rootDir>/*/test/**/*.node22.test.ts'], testPathIgnorePatterns: ['/node_modules/'] };

const examplesNest: Config = esm({ ...examples, displayName: 'examples-nestjs', testMatch: ['<rootDir>/nestjs-rag/test/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/'] });

// NestJS 10 and 11 (CommonJS, unlike 12), each installed in its own workspace folder
// (test/compat/nest10, test/compat/nest11: npm nests them there, the root's Nest being 12). Every
// `@nestjs/*` import, @llmscope/nestjs's own included, resolves into that folder, so the whole
// app and the adapter run on that major; the platforms' express and fastify are the ones that
// Nest major brings (found next to it). `llmscopeNestMajor` makes the suites run their Nest
// targets only, named after the major, and check that it is the one loaded.
function onNest(major: 10 | 11, config: Config, name: string): Config {
  return {
    ...config,
    displayName: `${name}-nest${major}`,
    moduleNameMapper: {
      ...config.moduleNameMapper,
      '^@nestjs/(common|core|platform-express|platform-fastify)((/.*)?)$': join(__dirname, `test/compat/nest${major}/node_modules/@nestjs/$1$2`),
    },
    globals: { llmscopeNestMajor: String(major) },
  };
}

// @TraceLLM, @PromptVersion, @RagStep and the module on each older major (the package's
// prompt-scope test has no Nest in it: run once, above).
const nestjsOn = (major: 10 | 11) => onNest(major, { ...project('nestjs'), testMatch: ['<rootDir>/test/{decorators,module}.test.ts'] }, 'nestjs');
const contractOn = (major: 10 | 11) => onNest(major, { ...contract, testMatch: ['<rootDir>/contract.test.ts'] }, 'contract');

const config: Config = {
  projects: [
    project('core'), project('express'), project('fastify'), esm(project('nestjs')), project('node'), project('testkit'), project('console'), examples, examplesNest, esm(contract), reliability, consumers, ops, bench,
    nestjsOn(10), nestjsOn(11), contractOn(10), contractOn(11),
    ...(onNode22 ? [coreNode22, examplesNode22] : []),
  ],
  testTimeout: 30000,
  // The OTLP exporter's retry timers (in @opentelemetry/otlp-exporter-base) are not unref'd, so a
  // worker can outlive its last test by up to an export timeout. Tests close their own servers
  // and instances; this only keeps `npm test` (and CI) from waiting on those timers.
  forceExit: true,
};

export default config;
