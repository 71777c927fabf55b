/** Injection token of the options given to `LlmscopeModule.forRoot()` / returned by `forRootAsync()`'s factory. */
export const LLMSCOPE_OPTIONS = Symbol.for('llmscope.nestjs.options');
