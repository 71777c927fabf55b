import { Inject, Injectable } from '@nestjs/common';
import { forcePromptVersion, Llmscope, type GetPromptOptions, type Prompt, type PromptExperiment } from '@llmscope/core';

/**
 * The prompt registry for dependency injection: get prompts (local, or Langfuse with its cache
 * and fallback), force a version for the current request, reach an experiment's weights.
 * Getting a prompt inside a request sets the request's prompt name and version, so its LLM
 * calls, metrics, cost, logs and scores carry them. See docs/prompts.md.
 *
 * @example
 * constructor(private readonly prompts: LlmscopePrompts) {}
 * \@PromptVersion('rag-answer')
 * async answer(question: string) {
 *   const prompt = await this.prompts.get('rag-answer'); // this user's variant of the experiment
 *   return this.openai.chat.completions.create({ model: String(prompt.config.model), messages: [{ role: 'user', content: prompt.type === 'text' ? prompt.compile({ question }) : '' }] });
 * }
 */
@Injectable()
export class LlmscopePrompts {
  constructor(
    /** The llmscope instance of the application. */
    @Inject(Llmscope) readonly llmscope: Llmscope,
  ) {}

  /** The prompt `name`: the version or label asked, else this request's variant or `production` (as `getPrompt()`). */
  get(name: string, options?: GetPromptOptions): Promise<Prompt> {
    return this.llmscope.getPrompt(name, options);
  }

  /** Forces `version` of prompt `name` for the current request only (tests, internal users). */
  force(name: string, version: string | number): void {
    forcePromptVersion(name, version);
  }

  /** The experiment on prompt `name` (its weights; what a rollout or rollback guard drives), or undefined. */
  experiment(name: string): PromptExperiment | undefined {
    return this.llmscope.prompts.experiment(name);
  }
}
