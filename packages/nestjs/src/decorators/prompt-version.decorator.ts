import { runWithPrompt } from './prompt-scope';
import { wrapAllMethods, wrapMethod } from './wrap-method';

/**
 * Sets the prompt name and version for a method, or for every method of a class: each LLM span
 * and LLM metric recorded inside (including in undecorated code it calls) carries them. The
 * scope ends with the method (for async methods, when their promise settles), so sibling calls
 * are not affected; a method-level `@PromptVersion` wins over the class-level one.
 *
 * Without a version, the prompt registry picks it for each request: the variant of the prompt's
 * experiment (`prompts.experiments`), else its `production` version; `getPrompt(name)` or
 * `LlmscopePrompts.get(name)` inside the method returns that same version.
 *
 * @example
 * \@PromptVersion('answer', 'v2')
 * \@Post('chat')
 * chat(@Body() body: ChatDto) { return this.rag.answer(body.question); }
 *
 * \@PromptVersion('rag-answer') // the experiment's variant for this user
 * async answer(question: string) { const prompt = await this.prompts.get('rag-answer'); ... }
 */
export function PromptVersion(name: string, version?: string | number): MethodDecorator & ClassDecorator {
  const v = typeof version === 'number' ? String(version) : version;
  if (typeof name !== 'string' || name.length === 0 || (v !== undefined && (typeof v !== 'string' || v.length === 0))) {
    throw new TypeError('llmscope: @PromptVersion(name, version?) needs a non-empty name, and a non-empty version when one is given.');
  }
  const decorate = (descriptor: PropertyDescriptor): PropertyDescriptor => wrapMethod(descriptor, (original) =>
    function promptVersioned(this: unknown, ...args: unknown[]) {
      return runWithPrompt(name, v, () => original.apply(this, args));
    });
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor === undefined) {
      wrapAllMethods(target as Function, decorate);
      return undefined;
    }
    return decorate(descriptor);
  }) as MethodDecorator & ClassDecorator;
}
