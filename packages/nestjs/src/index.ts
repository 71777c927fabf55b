/**
 * @llmscope/nestjs: `LlmscopeModule.forRoot(options)`, `@TraceLLM()`, `@PromptVersion()`,
 * `@RagStep()`, and injectable `LlmscopeService` and `LlmscopePrompts`. The core API is re-exported.
 * @packageDocumentation
 */
export * from '@llmscope/core';
export { LlmscopeModule } from './llmscope.module';
export { LlmscopeService } from './llmscope.service';
export { LlmscopePrompts } from './llmscope-prompts.service';
export { LLMSCOPE_OPTIONS } from './tokens';
export type { LlmscopeModuleOptions, LlmscopeModuleAsyncOptions, PlatformRequest } from './options';
export { TraceLLM, type TraceLLMOptions } from './decorators/trace-llm.decorator';
export { PromptVersion } from './decorators/prompt-version.decorator';
export { RagStep } from './decorators/rag-step.decorator';
