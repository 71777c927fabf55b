/**
 * Which NestJS major a test runs on. The `*-nest10` / `*-nest11` Jest projects (jest.config.ts,
 * `onNest`) map every `@nestjs/*` import into test/compat/nest10 or nest11 and set the global
 * `llmscopeNestMajor`; every other project loads the root's Nest 12.
 */
export function nestMajor(): '10' | '11' | '12' {
  const major = (globalThis as { llmscopeNestMajor?: unknown }).llmscopeNestMajor;
  if (major === undefined) return '12';
  if (major !== '10' && major !== '11') throw new Error(`llmscopeNestMajor must be '10' or '11', not ${String(major)}`);
  return major;
}

/**
 * Throws unless the `@nestjs/core` this module resolves to is of {@link nestMajor}: a mapping that
 * silently fell back to the root's Nest would otherwise test Nest 12 under another name. Only the
 * CommonJS projects of Nest 10 and 11 have `require`; Nest 12 is the only one the others can load.
 */
export function assertNestLoaded(): void {
  const major = nestMajor();
  if (major === '12') return;
  const { version } = require('@nestjs/core/package.json') as { version: string };
  if (!version.startsWith(`${major}.`)) throw new Error(`the Nest ${major} project loaded @nestjs/core ${version}`);
}
