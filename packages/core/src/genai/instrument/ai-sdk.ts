import { context, trace } from '@opentelemetry/api';
import { admitLlmCall } from '../../budgets/admit';
import { currentLlmCall, startLlmCall, type LlmCallOptions, type LlmCallState } from '../call';
import { foreignGenAiSpans } from '../span-records';
import { traceLLM } from '../trace-llm';
import { readResult, readUsage } from '../usage';
import { numberParam } from './common';

// The Vercel AI SDK's middleware contract, structurally: core does not depend on `ai`, and the
// same shapes serve its language-model specification v2 (ai 5), v3 (ai 6) and v4 (ai 7).

/** What a middleware sees of the model it wraps. */
export interface AiSdkModel {
  readonly provider: string;
  readonly modelId: string;
}

/** The call options the AI SDK hands a language model (only what llmscope reads). */
export interface AiSdkCallOptions {
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
  prompt?: unknown;
}

/** The AI SDK's middleware specification versions: `v4` for ai 7, `v3` for ai 6, `v2` for ai 5. */
export type AiSdkSpecificationVersion = 'v2' | 'v3' | 'v4';

/** Options of {@link llmscopeMiddleware} and {@link llmscopeEmbeddingMiddleware}. */
export interface LlmscopeMiddlewareOptions<V extends AiSdkSpecificationVersion = 'v4'> {
  /** The AI SDK's middleware specification version: `v4` for ai 7 (default), `v3` for ai 6, `v2` for ai 5. */
  specificationVersion?: V;
  /**
   * `gen_ai.provider.name` of the calls. Default: from the model's provider id (`openai.chat` →
   * `openai`, `google.generative-ai` → `gcp.gemini`, `amazon-bedrock` → `aws.bedrock`, ...).
   */
  provider?: string;
}

/**
 * A language-model middleware for the AI SDK's `wrapLanguageModel`, typed structurally (it
 * satisfies `LanguageModelMiddleware` of ai 5, 6 and 7 for the chosen specification version).
 */
export interface LlmscopeLanguageModelMiddleware<V extends AiSdkSpecificationVersion = 'v4'> {
  /** The AI SDK middleware specification version it implements. */
  readonly specificationVersion: V;
  /** Records a `doGenerate` call. */
  wrapGenerate(options: { doGenerate: () => PromiseLike<unknown>; params: AiSdkCallOptions; model: AiSdkModel }): Promise<never>;
  /** Records a `doStream` call, observing its stream. */
  wrapStream(options: { doStream: () => PromiseLike<unknown>; params: AiSdkCallOptions; model: AiSdkModel }): Promise<never>;
}

/** An embedding-model middleware for the AI SDK's `wrapEmbeddingModel`. */
export interface LlmscopeEmbeddingModelMiddleware<V extends AiSdkSpecificationVersion = 'v4'> {
  /** The AI SDK middleware specification version it implements. */
  readonly specificationVersion: V;
  /** Records a `doEmbed` call. */
  wrapEmbed(options: { doEmbed: () => PromiseLike<unknown>; params: { values?: unknown }; model: AiSdkModel }): Promise<never>;
}

/** AI SDK provider ids (before the first dot) → `gen_ai.provider.name`. */
const PROVIDERS: Record<string, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'gcp.gemini',
  'google-vertex': 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  'amazon-bedrock': 'aws.bedrock',
  bedrock: 'aws.bedrock',
  azure: 'azure.ai.openai',
  mistral: 'mistral_ai',
  xai: 'x_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  cohere: 'cohere',
  perplexity: 'perplexity',
};

/** `google.generative-ai` → `gcp.gemini`, `google.vertex.chat` → `gcp.vertex_ai`, `openai.chat` → `openai`. */
export function aiSdkProvider(providerId: unknown): string {
  if (typeof providerId !== 'string' || providerId.length === 0) return 'unknown';
  if (providerId.startsWith('google.vertex')) return 'gcp.vertex_ai';
  const dot = providerId.indexOf('.');
  const head = dot === -1 ? providerId : providerId.slice(0, dot);
  return PROVIDERS[head] ?? head;
}

function describe(model: AiSdkModel, params: AiSdkCallOptions, provider: string | undefined): LlmCallOptions {
  return {
    model: typeof model.modelId === 'string' && model.modelId.length > 0 ? model.modelId : 'unknown',
    provider: provider ?? aiSdkProvider(model.provider),
    operation: 'chat',
    temperature: numberParam(params.temperature),
    maxTokens: numberParam(params.maxOutputTokens),
    topP: numberParam(params.topP),
    input: params.prompt,
  };
}

type Part = Record<string, unknown>;

/**
 * Observes the stream of one model call part by part, passing every part through unchanged: the
 * first part marks the time to first chunk (stream-start and response-metadata parts are not
 * answer chunks), `finish` carries usage and the finish reason, `error` fails the call, and the
 * call ends when the stream ends, fails or is cancelled.
 */
function observed(stream: ReadableStream<unknown>, call: LlmCallState): ReadableStream<unknown> {
  let characters = 0;
  let failure: unknown;
  let finished = false;
  const finish = (error: unknown, failed: boolean, note?: 'cancelled'): void => {
    if (call.ended) return;
    if (!finished) call.estimateOutput(characters);
    call.end(error, failed, note);
  };
  const reader = stream.getReader();
  return new ReadableStream<unknown>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        finish(error, true);
        controller.error(error);
        return;
      }
      if (next.done) {
        finish(failure, failure !== undefined);
        controller.close();
        return;
      }
      const part = next.value as Part | undefined;
      try {
        const type = part?.type;
        if (type === 'text-delta' || type === 'reasoning-delta' || type === 'tool-input-delta') {
          call.markFirstChunk();
          const delta = part?.delta ?? part?.textDelta;
          if (typeof delta === 'string') characters += delta.length;
        } else if (type === 'tool-call' || type === 'text-start' || type === 'reasoning-start') {
          call.markFirstChunk();
        } else if (type === 'response-metadata') {
          call.applyResult({ model: typeof part?.modelId === 'string' ? part.modelId : undefined, id: typeof part?.id === 'string' ? part.id : undefined });
        } else if (type === 'finish') {
          finished = part?.usage !== undefined;
          call.applyResult({ usage: readUsage(part?.usage), finishReasons: finishReasons(part?.finishReason) });
          if (!finished) call.estimateOutput(characters);
        } else if (type === 'error') {
          failure = part?.error ?? new Error('AI SDK stream error');
        }
      } catch {
        // A part llmscope does not understand is still the app's part.
      }
      controller.enqueue(next.value);
    },
    cancel(reason) {
      finish(undefined, false, 'cancelled');
      return reader.cancel(reason);
    },
  });
}

/** A finish reason: a string (v2), or `{ unified, raw }` (v3, v4). */
function finishReasons(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  const unified = value !== null && typeof value === 'object' ? (value as Part).unified : undefined;
  return typeof unified === 'string' ? [unified] : undefined;
}

/**
 * A Vercel AI SDK middleware that records every language-model call of the wrapped model as an
 * LLM call (span, metrics, cost, request context), as `traceLLM` does: `generateText`,
 * `generateObject`, each step of a multi-step tool loop, and streamed calls (`streamText`,
 * `streamObject`: time to first chunk, usage from the `finish` part, the call ending with the
 * stream or when it is cancelled). Errors fail the call with their type (`APICallError`, ...).
 * With the AI SDK's own telemetry on as well (`@ai-sdk/otel`), its model-call span is the same
 * call and is not counted again.
 *
 * @example
 * import { wrapLanguageModel, generateText } from 'ai';
 * const model = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: llmscopeMiddleware() });
 * const { text } = await generateText({ model, prompt: 'Hello' });
 */
export function llmscopeMiddleware<V extends AiSdkSpecificationVersion = 'v4'>(options: LlmscopeMiddlewareOptions<V> = {}): LlmscopeLanguageModelMiddleware<V> {
  const provider = options.provider;
  return {
    specificationVersion: options.specificationVersion ?? ('v4' as V),
    wrapGenerate: ({ doGenerate, params, model }) => {
      foreignGenAiSpans.sameCallAsActive('chat');
      return traceLLM(describe(model, params, provider), async () => doGenerate()) as Promise<never>;
    },
    wrapStream: async ({ doStream, params, model }) => {
      foreignGenAiSpans.sameCallAsActive('chat');
      const call = startLlmCall(admitLlmCall(describe(model, params, provider)));
      const run = (): PromiseLike<unknown> => currentLlmCall.run(call, doStream);
      let result: unknown;
      try {
        result = await (call.span === undefined ? run() : context.with(trace.setSpan(context.active(), call.span), run));
      } catch (error) {
        call.end(error, true);
        throw error;
      }
      const stream = (result as Part | undefined)?.stream;
      if (!(stream instanceof ReadableStream)) {
        call.applyResult(readResult(result));
        call.end(undefined, false);
        return result as never;
      }
      const response = (result as Part).response as Part | undefined;
      call.applyResult({ model: typeof response?.modelId === 'string' ? response.modelId : undefined, id: typeof response?.id === 'string' ? response.id : undefined });
      return { ...(result as Part), stream: observed(stream, call) } as never;
    },
  };
}

/**
 * A Vercel AI SDK embedding-model middleware (`wrapEmbeddingModel`): every `embed` and each
 * batch of `embedMany` becomes an `embeddings` LLM call with its token usage and cost.
 *
 * @example
 * const embedder = wrapEmbeddingModel({ model: openai.embedding('text-embedding-3-small'), middleware: llmscopeEmbeddingMiddleware() });
 */
export function llmscopeEmbeddingMiddleware<V extends AiSdkSpecificationVersion = 'v4'>(options: LlmscopeMiddlewareOptions<V> = {}): LlmscopeEmbeddingModelMiddleware<V> {
  return {
    specificationVersion: options.specificationVersion ?? ('v4' as V),
    wrapEmbed: ({ doEmbed, params, model }) => {
      foreignGenAiSpans.sameCallAsActive('embeddings');
      return traceLLM({
      model: typeof model.modelId === 'string' && model.modelId.length > 0 ? model.modelId : 'unknown',
      provider: options.provider ?? aiSdkProvider(model.provider),
      operation: 'embeddings',
      input: params.values,
      }, async () => doEmbed()) as Promise<never>;
    },
  };
}
