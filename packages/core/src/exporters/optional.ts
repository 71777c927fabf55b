import { LlmscopeConfigError } from '../config/errors';

/**
 * Loads an optional peer dependency when the feature that needs it is configured, so apps that
 * use neither Langfuse nor Sentry never load (or install) them.
 */
export function loadOptional<T>(name: string, feature: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new LlmscopeConfigError(`${feature} needs the package ${name}: run \`npm install ${name}\`, or turn ${feature} off.`);
    }
    throw error;
  }
}
