/**
 * Thrown at start-up when llmscope is given options it cannot use.
 * The message names the option, what was received and what to change.
 */
export class LlmscopeConfigError extends Error {
  constructor(message: string) {
    super(`llmscope: ${message}`);
    this.name = 'LlmscopeConfigError';
  }
}
