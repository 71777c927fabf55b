import { join } from 'node:path';
import type { Config } from 'jest';

// One project per package. ts-jest only transpiles (isolatedModules); `npm test` type-checks
// everything once with tsc first, which is much faster on 2 cores than per-file checking.
const tsJest: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.json' }],
};

const moduleNameMapper = {
  '^@llmscope/(core|express|fastify|nestjs|testkit)$': '<rootDir>/../$1/src/index.ts',
};

function project(name: string): Config {
  return {
    displayName: name,
    rootDir: join(__dirname, 'packages', name),
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: tsJest,
    moduleNameMapper,
    testEnvironment: 'node',
    testEnvironmentOptions: { globalsCleanup: 'off' },
  };
}

const examples: Config = {
  displayName: 'examples',
  rootDir: join(__dirname, 'examples'),
  testMatch: ['<rootDir>/*/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: join(__dirname, 'tsconfig.json') }] },
  moduleNameMapper: { '^@llmscope/(core|express|fastify|nestjs|testkit)$': join(__dirname, 'packages/$1/src/index.ts') },
  testEnvironment: 'node',
  testEnvironmentOptions: { globalsCleanup: 'off' },
};

const contract: Config = {
  displayName: 'contract',
  rootDir: join(__dirname, 'test', 'contract'),
  testMatch: ['<rootDir>/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: join(__dirname, 'tsconfig.json') }] },
  moduleNameMapper: { '^@llmscope/(core|express|fastify|nestjs|testkit)$': join(__dirname, 'packages/$1/src/index.ts') },
  testEnvironment: 'node',
  testEnvironmentOptions: { globalsCleanup: 'off' },
};

const config: Config = {
  projects: [project('core'), project('express'), project('fastify'), project('nestjs'), project('testkit'), examples, contract],
  testTimeout: 30000,
};

export default config;
