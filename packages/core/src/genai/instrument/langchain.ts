import { context, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { failSpan } from '../../tracing/span-run';
import { getTracer } from '../../tracing/provider';
import { DOCUMENTS_RETURNED, STEP_KIND } from '../../tracing/rag';
import { startLlmCall, type LlmCallState } from '../call';
import { LLMSCOPE } from '../schema';
import { readUsage, type LlmUsage } from '../usage';
import { numberParam } from './common';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' ? (value as Obj) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** LangChain's `ls_provider` metadata → `gen_ai.provider.name`. */
const PROVIDERS: Record<string, string> = {
  openai: 'openai', anthropic: 'anthropic', google_genai: 'gcp.gemini', google_vertexai: 'gcp.vertex_ai',
  bedrock: 'aws.bedrock', azure: 'azure.ai.openai', mistralai: 'mistral_ai', groq: 'groq', cohere: 'cohere', xai: 'x_ai',
};

/** Usage of a LangChain result: the message's `usage_metadata`, else `llmOutput.tokenUsage` / `estimatedTokenUsage`. */
function usageOf(output: Obj): LlmUsage | undefined {
  const message = obj(obj(obj(output.generations as unknown[] | undefined)?.[0] as unknown[] | undefined)?.[0])?.message;
  const meta = obj(obj(message)?.usage_metadata);
  if (meta !== undefined) {
    const usage = readUsage(meta);
    if (usage !== undefined) {
      // LangChain's own detail names: input_token_details.cache_read / cache_creation, output_token_details.reasoning.
      const cacheRead = obj(meta.input_token_details)?.cache_read;
      const cacheCreation = obj(meta.input_token_details)?.cache_creation;
      const reasoning = obj(meta.output_token_details)?.reasoning;
      if (typeof cacheRead === 'number' && cacheRead > 0) usage.cacheReadTokens = cacheRead;
      if (typeof cacheCreation === 'number' && cacheCreation > 0) usage.cacheCreationTokens = cacheCreation;
      if (typeof reasoning === 'number' && reasoning > 0) usage.reasoningTokens = reasoning;
      return usage;
    }
  }
  const llmOutput = obj(output.llmOutput);
  return readUsage(llmOutput?.tokenUsage ?? llmOutput?.estimatedTokenUsage);
}

/** The model that answered: the message's `response_metadata.model_name`, else `llmOutput.model_name`. */
function responseModel(output: Obj): string | undefined {
  const message = obj(obj(obj(output.generations as unknown[] | undefined)?.[0] as unknown[] | undefined)?.[0])?.message;
  return text(obj(obj(message)?.response_metadata)?.model_name) ?? text(obj(output.llmOutput)?.model_name);
}

/**
 * A LangChain.js callback handler (pass it in `callbacks`, or to `.withConfig({ callbacks })`):
 * chat models and LLMs become LLM calls (span, metrics, cost, time to first token when streamed,
 * the request context), retrievers retrieval steps (documents returned), tools `execute_tool`
 * steps and chains steps, each nested under the span of the run that started it, under the
 * request span. A plain object of `handle*` methods, which `@langchain/core` accepts as a handler,
 * so llmscope does not depend on LangChain.
 *
 * @example
 * const answer = await chain.invoke({ question }, { callbacks: [llmscopeLangChainHandler()] });
 */
export function llmscopeLangChainHandler(): LlmscopeLangChainHandler {
  return new LlmscopeLangChainHandler();
}

/** The handler {@link llmscopeLangChainHandler} returns; its methods are LangChain's callback names. */
export class LlmscopeLangChainHandler {
  /** LangChain's handler name. */
  readonly name = 'llmscope';
  /** LLM calls and step spans in flight, by LangChain run id (removed when the run ends). */
  private readonly calls = new Map<string, LlmCallState>();
  private readonly spans = new Map<string, Span>();

  /** The context to start a run in: under its parent run's span when llmscope has one. */
  private parent(parentRunId: string | undefined): Context {
    const span = parentRunId === undefined ? undefined : this.spans.get(parentRunId) ?? this.calls.get(parentRunId)?.span;
    return span === undefined ? context.active() : trace.setSpan(context.active(), span);
  }

  private startCall(operation: 'chat' | 'text_completion', llm: unknown, runId: string, parentRunId: string | undefined, extraParams: unknown, metadata: unknown, input: unknown): void {
    try {
      const params = obj(obj(extraParams)?.invocation_params) ?? {};
      const meta = obj(metadata) ?? {};
      const lsProvider = text(meta.ls_provider);
      const model = text(meta.ls_model_name) ?? text(params.model) ?? text(params.model_name) ?? text(params.modelName) ?? text(obj(llm)?.name) ?? 'unknown';
      const call = context.with(this.parent(parentRunId), () => startLlmCall({
        model,
        provider: lsProvider === undefined ? 'unknown' : PROVIDERS[lsProvider] ?? lsProvider,
        operation,
        temperature: numberParam(meta.ls_temperature) ?? numberParam(params.temperature),
        maxTokens: numberParam(meta.ls_max_tokens) ?? numberParam(params.max_tokens) ?? numberParam(params.max_completion_tokens),
        topP: numberParam(params.top_p),
        input,
      }));
      this.calls.set(runId, call);
    } catch {
      // Never fails the chain.
    }
  }

  /** A chat model run starts. */
  handleChatModelStart(llm: unknown, messages: unknown, runId: string, parentRunId?: string, extraParams?: unknown, _tags?: unknown, metadata?: unknown): void {
    this.startCall('chat', llm, runId, parentRunId, extraParams, metadata, undefined);
    void messages;
  }

  /** A text LLM run starts. */
  handleLLMStart(llm: unknown, prompts: unknown, runId: string, parentRunId?: string, extraParams?: unknown, _tags?: unknown, metadata?: unknown): void {
    this.startCall('text_completion', llm, runId, parentRunId, extraParams, metadata, prompts);
  }

  /** A streamed token: the first marks the time to first chunk. */
  handleLLMNewToken(_token: string, _idx: unknown, runId: string): void {
    this.calls.get(runId)?.markFirstChunk();
  }

  /** A model run ends: usage and response model from its result. */
  handleLLMEnd(output: unknown, runId: string): void {
    const call = this.calls.get(runId);
    if (call === undefined) return;
    this.calls.delete(runId);
    try {
      const o = obj(output) ?? {};
      call.applyResult({ usage: usageOf(o), model: responseModel(o) });
    } catch {
      // A result llmscope does not understand still ends the call.
    }
    call.end(undefined, false);
  }

  /** A model run fails. */
  handleLLMError(error: unknown, runId: string): void {
    const call = this.calls.get(runId);
    if (call === undefined) return;
    this.calls.delete(runId);
    call.end(error, true);
  }

  private startStep(name: string, runId: string, parentRunId: string | undefined, kind: 'retrieval' | 'tool' | undefined): void {
    try {
      const attributes = kind === 'retrieval' ? { [STEP_KIND]: 'retrieval', [LLMSCOPE.step]: name }
        : kind === 'tool' ? { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, [LLMSCOPE.step]: name }
          : { [LLMSCOPE.step]: name };
      const span = getTracer().startSpan(kind === 'tool' ? `execute_tool ${name}` : name, { kind: SpanKind.INTERNAL, attributes }, this.parent(parentRunId));
      this.spans.set(runId, span);
    } catch {
      // Never fails the chain.
    }
  }

  private endStep(runId: string, error?: unknown, documents?: number): void {
    const span = this.spans.get(runId);
    if (span === undefined) return;
    this.spans.delete(runId);
    if (documents !== undefined) span.setAttribute(DOCUMENTS_RETURNED, documents);
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  /** A retriever run starts: a retrieval step. */
  handleRetrieverStart(retriever: unknown, _query: string, runId: string, parentRunId?: string, _tags?: unknown, _metadata?: unknown, name?: string): void {
    this.startStep(name ?? text(obj(retriever)?.name) ?? 'retriever', runId, parentRunId, 'retrieval');
  }

  /** A retriever run ends, with the documents it returned. */
  handleRetrieverEnd(documents: unknown, runId: string): void {
    this.endStep(runId, undefined, Array.isArray(documents) ? documents.length : undefined);
  }

  /** A retriever run fails. */
  handleRetrieverError(error: unknown, runId: string): void {
    this.endStep(runId, error);
  }

  /** A tool run starts: an `execute_tool` step. */
  handleToolStart(tool: unknown, _input: string, runId: string, parentRunId?: string, _tags?: unknown, _metadata?: unknown, runName?: string): void {
    this.startStep(runName ?? text(obj(tool)?.name) ?? 'tool', runId, parentRunId, 'tool');
  }

  /** A tool run ends. */
  handleToolEnd(_output: unknown, runId: string): void {
    this.endStep(runId);
  }

  /** A tool run fails. */
  handleToolError(error: unknown, runId: string): void {
    this.endStep(runId, error);
  }

  /** A chain (runnable) run starts: a step named after it. */
  handleChainStart(chain: unknown, _inputs: unknown, runId: string, parentRunId?: string, _tags?: unknown, _metadata?: unknown, _runType?: string, runName?: string): void {
    const id = obj(chain)?.id;
    const last = Array.isArray(id) ? id[id.length - 1] : undefined;
    this.startStep(runName ?? text(last) ?? 'chain', runId, parentRunId, undefined);
  }

  /** A chain run ends. */
  handleChainEnd(_outputs: unknown, runId: string): void {
    this.endStep(runId);
  }

  /** A chain run fails. */
  handleChainError(error: unknown, runId: string): void {
    this.endStep(runId, error);
  }
}
