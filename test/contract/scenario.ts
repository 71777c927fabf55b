/**
 * The framework-neutral app every contract target builds with its own framework's idioms.
 * Each handler holds the behaviour; a target only wires routes to it.
 */
import { setPromptVersion, setUser, setSession, step, tag, traceLLM } from '@llmscope/core';

/** Routes every target must expose (paths written with `:param` templates). */
export const ROUTES = {
  /** GET: returns `{ id }`. */
  user: '/users/:id',
  /** GET, under a prefix/mount/controller path `/api/v1`: returns `{ id }`. Label must be `/api/v1/items/:id`. */
  prefixedItem: '/api/v1/items/:id',
  /** GET: throws `new Error('contract boom')`. */
  boom: '/boom',
  /** GET: tags from code (user `code-user`, session `code-session`, tag tier=paid). */
  tagged: '/tagged',
  /** POST: a RAG request (embed_query, vector_search, LLM call) with prompt `answer` version `v2`. */
  chat: '/chat',
} as const;

export const BOOM_MESSAGE = 'contract boom';

export function userHandler(id: string): { id: string } {
  return { id };
}

export function boomHandler(): never {
  throw new Error(BOOM_MESSAGE);
}

export async function taggedHandler(): Promise<{ ok: true }> {
  await new Promise((r) => setTimeout(r, 1));
  setUser('code-user');
  setSession('code-session');
  tag('tier', 'paid');
  return { ok: true };
}

/**
 * The RAG handler. `withPrompt` is false for targets that set the prompt version their own way
 * (NestJS: `@PromptVersion('answer', 'v2')`); the others call `setPromptVersion` here.
 */
export async function chatHandler(question: string, withPrompt = true): Promise<{ answer: string }> {
  if (withPrompt) setPromptVersion('answer', 'v2');
  const vector = await step('embed_query', async () => [question.length, 1]);
  const docs = await step('vector_search', async () => [`doc for ${vector.join(',')}`]);
  const reply = await traceLLM({ model: 'contract-model', provider: 'contract' }, async () => {
    await new Promise((r) => setTimeout(r, 2));
    return { id: 'r1', model: 'contract-model', usage: { input_tokens: 10, output_tokens: 5 }, text: `answer from ${docs.length} docs` };
  });
  return { answer: reply.text };
}
