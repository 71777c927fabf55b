/**
 * The framework-neutral app every contract target builds with its own framework's idioms.
 * Each handler holds the behaviour; a target only wires routes to it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { context, propagation, trace } from '@opentelemetry/api';
import { getContext, setPromptVersion, setUser, setSession, step, tag, traceLLM, type Identity } from '@llmscope/core';

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
  /** GET: sets bad user values from code, returns `{ user, session }` as the context has them. */
  me: '/me',
  /** GET: a step and an LLM call (3 input, 4 output tokens), returns `{ user }`. */
  plain: '/plain',
  /** GET: signals {@link nextSlowStart}, then answers after {@link SLOW_MS}. */
  slow: '/slow',
  /** GET: a Server-Sent Events stream of {@link STREAM_EVENTS}, one every {@link STREAM_GAP_MS} (Nest: `@Sse()`). */
  stream: '/stream',
  /** GET: returns `{ tenant, traceState }`: the incoming baggage entry `tenant` and the active span's tracestate. */
  baggage: '/baggage',
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

/** What every framework's request has; the contract's `identify` reads only this. */
export interface ContractRequest {
  headers: IncomingHttpHeaders;
}

/**
 * The contract's `identify`: the user from `x-api-user`, a session id that is not a string (so
 * it must be dropped), and a throw when `x-explode` is set (so the request must stay anonymous).
 */
export function contractIdentify(request: ContractRequest): Identity {
  if (request.headers['x-explode'] !== undefined) throw new Error('identify failed');
  return { userId: request.headers['x-api-user'] as string, sessionId: 42 as unknown as string };
}

/** Bad identity values from code must be ignored; returns what the context holds. */
export function meHandler(): { user: string | null; session: string | null } {
  setUser({ not: 'a string' });
  setUser(12345);
  return { user: getContext()?.userId ?? null, session: getContext()?.sessionId ?? null };
}

/** A step and an LLM call, then the user from the context. */
export async function plainHandler(): Promise<{ user: string | null }> {
  await step('plain_step', async () => undefined);
  await traceLLM({ model: 'plain-model', provider: 'contract' }, async () => ({ usage: { input_tokens: 3, output_tokens: 4 } }));
  return { user: getContext()?.userId ?? null };
}

export const SLOW_MS = 150;
let slowStarted: (() => void) | undefined;

/** Resolves when the next `/slow` request reaches its handler. */
export function nextSlowStart(): Promise<void> {
  return new Promise((resolve) => {
    slowStarted = resolve;
  });
}

export async function slowHandler(): Promise<{ late: true }> {
  slowStarted?.();
  await new Promise((r) => setTimeout(r, SLOW_MS));
  return { late: true };
}

export const STREAM_EVENTS = ['one', 'two', 'three'] as const;
export const STREAM_GAP_MS = 80;

/** The stream's event payloads, each after {@link STREAM_GAP_MS}. */
export async function* streamEvents(): AsyncGenerator<string> {
  for (const event of STREAM_EVENTS) {
    await new Promise((r) => setTimeout(r, STREAM_GAP_MS));
    yield event;
  }
}

/** The same events framed as Server-Sent Events (`data: <event>` and a blank line). */
export async function* sseFrames(): AsyncGenerator<string> {
  for await (const event of streamEvents()) yield `data: ${event}\n\n`;
}

/** The incoming baggage entry `tenant` and the tracestate of the active (server) span. */
export function baggageHandler(): { tenant: string | null; traceState: string | null } {
  const active = context.active();
  return {
    tenant: propagation.getBaggage(active)?.getEntry('tenant')?.value ?? null,
    traceState: trace.getSpan(active)?.spanContext().traceState?.serialize() ?? null,
  };
}
