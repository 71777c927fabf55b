import { citationEvaluator, judgeEvaluator, traceLLM, type EvaluationsOptions, type LlmOptions, type PromptsOptions } from '@llmscope/core';
import { RAG_EXPERIMENT, RAG_PROMPTS, SIMULATED_JUDGE_MODEL, SIMULATED_PRICES } from './rag';
import { speedFromEnv } from './latency';
import { SimulatedLLM } from './simulated-llm';

/** Options of {@link exampleLlmscopeOptions}. */
export interface ExampleScoringOptions {
  /** Share of the answers the judge grades. Default 0.5 (tests set 1). */
  judgeSampleRate?: number;
  /** Speed factor of the judge's simulated LLM (default: `SIM_LLM_SPEED`, else real-looking latency). */
  speed?: number;
}

/**
 * Feedback from the local example: any request that says who it is (`x-user-id`, as the banner's
 * curl lines do) may score a trace. A real app checks its session here, e.g.
 * `(req) => Boolean(req.session?.userId)`: without that, anyone who can reach it can score any trace.
 */
function authorizeFeedback(request: unknown): boolean {
  const headers = (request as { headers?: Record<string, unknown> } | null)?.headers;
  return typeof headers?.['x-user-id'] === 'string' && headers['x-user-id'] !== '';
}

/**
 * What the example apps pass to llmscope: the price of the simulated model, and scores from the
 * three sources. Code: `citationEvaluator()` on every answer (are the cited `[id]`s among the
 * retrieved documents?). Judge: a `relevance` judge on a sample, graded by the same simulated LLM
 * (its calls traced with `traceLLM`, so their cost lands under feature `llmscope.judge`). Human:
 * `POST /llmscope/feedback {traceId, name, value}`. Evaluators read the prompt, the answer and the
 * retrieved documents: `captureContent` on. Prompts: the two versions of the RAG prompt, in an
 * 80/20 experiment (`getPrompt('rag-answer')` gives each user theirs; docs/prompts.md).
 */
export function exampleLlmscopeOptions(options: ExampleScoringOptions = {}): { llm: LlmOptions; evaluations: EvaluationsOptions; prompts: PromptsOptions } {
  const judge = new SimulatedLLM({ speed: options.speed ?? speedFromEnv() });
  return {
    llm: { prices: SIMULATED_PRICES, captureContent: true },
    prompts: { local: RAG_PROMPTS, experiments: RAG_EXPERIMENT },
    evaluations: {
      evaluators: [
        citationEvaluator(),
        judgeEvaluator({
          rubric: 'relevance',
          sampleRate: options.judgeSampleRate ?? 0.5,
          call: async (prompt) => {
            const messages = [{ role: 'user' as const, content: prompt }];
            // Traced, so that the judge's tokens and cost are counted (under feature llmscope.judge).
            const reply = await traceLLM({ model: SIMULATED_JUDGE_MODEL, provider: 'simulated', temperature: 0, maxTokens: 300, input: messages },
              () => judge.chat.completions.create({ model: SIMULATED_JUDGE_MODEL, messages, temperature: 0, max_tokens: 300 }));
            return reply.choices[0]?.message.content ?? '';
          },
        }),
      ],
      feedback: { authorize: authorizeFeedback },
    },
  };
}
