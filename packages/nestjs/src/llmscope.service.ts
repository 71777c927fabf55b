import { Inject, Injectable } from '@nestjs/common';
import type { Attributes } from '@opentelemetry/api';
import {
  getContext, Llmscope, setFeature, setPromptVersion, setSession, setUser, tag,
  type LlmCall, type LlmCallOptions, type LlmscopeContext, type ScoreInput, type ScoreRecord,
} from '@llmscope/core';

/**
 * llmscope's API for dependency injection: tag the current request, run RAG steps and trace LLM
 * calls. Every method acts on the request being handled (its AsyncLocalStorage context); outside a
 * request, tagging does nothing and steps and LLM calls are still recorded.
 *
 * @example
 * constructor(private readonly llmscope: LlmscopeService) {}
 * async ask(q: string) {
 *   this.llmscope.setFeature('support-chat');
 *   const docs = await this.llmscope.step('vector_search', () => this.store.search(q));
 *   return this.llmscope.traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, () => this.openai.chat.completions.create(...));
 * }
 */
@Injectable()
export class LlmscopeService {
  constructor(
    /** The llmscope instance of the application (its registry, options, `shutdown()`). */
    @Inject(Llmscope) readonly llmscope: Llmscope,
  ) {}

  /** Sets the user of the current request (non-strings ignored, long ids clipped). */
  setUser(userId: unknown): void {
    setUser(userId);
  }

  /** Sets the session (conversation) of the current request. */
  setSession(sessionId: unknown): void {
    setSession(sessionId);
  }

  /** Names the product feature the current request serves (a bounded set). */
  setFeature(name: unknown): void {
    setFeature(name);
  }

  /** Sets the prompt name and version of the current request; LLM spans inside carry them. */
  setPromptVersion(name: unknown, version: unknown): void {
    setPromptVersion(name, version);
  }

  /** Adds a tag to the current request (`llmscope.tag.<key>` on the request span). */
  tag(key: unknown, value: unknown): void {
    tag(key, value);
  }

  /** Runs one RAG step (`embed_query`, `vector_search`, ...) as a child span. */
  step<T>(name: string, fn: () => T, attributes?: Attributes): T {
    return this.llmscope.step(name, fn, attributes);
  }

  /** Traces one LLM call: a GenAI span plus the LLM metrics, usage read from the result. */
  traceLLM<T>(options: LlmCallOptions, fn: (call: LlmCall) => T): T {
    return this.llmscope.traceLLM(options, fn);
  }

  /**
   * Records a score for the current LLM call or request, or for `traceId` later (user feedback).
   * Never throws; returns the recorded score or why it was dropped. See docs/evaluations.md.
   */
  score(input: ScoreInput): ScoreRecord | string {
    return this.llmscope.score(input);
  }

  /** The current request's context, or `undefined` outside of one. */
  getContext(): LlmscopeContext | undefined {
    return getContext();
  }
}
