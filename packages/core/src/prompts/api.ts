import { currentOwner, type ContextOwner } from '../context/context';
import type { Prompt } from './prompt';
import { LlmscopePromptError, type GetPromptOptions, type PromptRegistry } from './registry';

/** What the prompt functions need from the llmscope instance owning the current request (`Llmscope`). */
export interface PromptOwner extends ContextOwner {
  readonly prompts: PromptRegistry;
}

function registry(): PromptRegistry | undefined {
  return (currentOwner() as Partial<PromptOwner> | undefined)?.prompts;
}

/**
 * Gets a prompt from the registry of the llmscope instance owning the current request (else the
 * latest instance): the `version` or `label` asked, else the request's variant when the prompt
 * has an experiment (by user id, else session id, else trace id), else its `production` version.
 * Inside a request it also sets the request's prompt name and version, so the LLM calls, metrics,
 * cost, logs, scores and Sentry events that follow carry them.
 *
 * Local prompts resolve at once; Langfuse prompts come from a cache (TTL, stale-while-revalidate)
 * and fall back to `fallback` or the local copy when Langfuse cannot answer. See docs/prompts.md.
 *
 * @example
 * const prompt = await getPrompt('rag-answer');
 * const messages = prompt.type === 'chat' ? prompt.compile({ question }) : [{ role: 'user', content: prompt.compile({ question }) }];
 */
export function getPrompt(name: string, options?: GetPromptOptions): Promise<Prompt> {
  const prompts = registry();
  if (prompts === undefined) return Promise.reject(new LlmscopePromptError('getPrompt() needs an llmscope instance: create one first (app.use(llmscope()), LlmscopeModule.forRoot(), ...).'));
  try {
    return prompts.get(name, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Forces the version of prompt `name` for the current request only: `getPrompt(name)` then
 * serves it whatever the experiment says. For tests and internal users: call it from your own
 * middleware when your auth says the caller may choose (such as a QA header). Outside a request
 * it does nothing.
 */
export function forcePromptVersion(name: string, version: string | number): void {
  if (typeof name !== 'string' || name.length === 0 || (typeof version !== 'string' && typeof version !== 'number')) return;
  registry()?.force(name, String(version));
}

/**
 * Runs the shadow of prompt `name` (`prompts.shadow[name]`) on a sample of requests: `run` gets
 * the candidate version and makes the LLM call(s) the app's pipeline would, off the response path.
 * `runShadow` returns at once and returns nothing: the shadow's output is never returned, and its
 * errors never reach the caller. Over `maxConcurrent` runs in flight, the run is dropped (and
 * counted). Its calls are traced with `llmscope.shadow=true` in a trace of their own (linked to the
 * request's), priced and evaluated under `feature="llmscope.shadow"` with the candidate's
 * `prompt_version`, and never counted in the prompt's guard windows. Without a shadow for `name`
 * (or without an instance) it does nothing. See docs/prompts.md.
 *
 * @example
 * const prompt = await getPrompt('rag-answer');
 * const answer = await answerWith(prompt, question);
 * runShadow('rag-answer', (candidate) => answerWith(candidate, question));
 * res.json({ answer });
 */
export function runShadow(name: string, run: (candidate: Prompt) => unknown): void {
  try {
    const owner = currentOwner() as Partial<PromptOwner> | undefined;
    owner?.prompts?.shadows.start(name, run, owner as ContextOwner);
  } catch {
    // A shadow never fails the request.
  }
}
