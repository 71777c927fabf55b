import request from 'supertest';
import {
  Controller, Get, Inject, Injectable, SetMetadata, UseGuards, type CanActivate, type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import { calcPrice } from '@pydantic/genai-prices';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LlmscopeModule, LlmscopeService, PromptVersion, RagStep, TraceLLM, traceLLM, type Evaluator } from '../src';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { appModule, PLATFORMS, startNest, type Platform, type RunningNest } from './app';

const exporter = memoryExporter();

const ROLE = 'test:role';
const GPT_4O_MINI_1000_1000 = (() => {
  const price = calcPrice({ input_tokens: 1000, output_tokens: 1000 }, 'gpt-4o-mini', { providerId: 'openai' });
  if (price === null) throw new Error('@pydantic/genai-prices has no price for gpt-4o-mini');
  return price.total_price;
})();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Undecorated code that calls an LLM: it must still see the prompt version of its caller. */
function plainLlmCall(model: string): Promise<{ model: string; usage: { input_tokens: number; output_tokens: number } }> {
  return traceLLM({ model, provider: 'test' }, async () => {
    await sleep(1);
    return { model: `${model}-resp`, usage: { input_tokens: 3, output_tokens: 4 } };
  });
}

@Injectable()
class RoleGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    return this.reflector.get<string>(ROLE, context.getHandler()) === 'admin';
  }
}

@Injectable()
@PromptVersion('assistant', 'v1')
class RagService {
  @RagStep('embed_query', { 'test.kind': 'embedding' })
  async embed(text: string): Promise<number[]> {
    await sleep(1);
    return [text.length];
  }

  @RagStep('retrieve')
  async retrieve(text: string): Promise<string[]> {
    const vector = await this.embed(text);
    await plainLlmCall('rerank-model');
    return [`doc-${vector[0]}`];
  }

  /** Class-level prompt, undecorated inner code. */
  async answer(): Promise<string> {
    const r = await plainLlmCall('class-model');
    return r.model;
  }

  /** A priced model: its cost metric is labelled with the prompt. */
  @PromptVersion('priced', 'p1')
  priced(): Promise<unknown> {
    return traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({ model: 'gpt-4o-mini', usage: { prompt_tokens: 1000, completion_tokens: 1000 } }));
  }

  @PromptVersion('special', 7)
  async special(): Promise<string> {
    const r = await plainLlmCall('method-model');
    return r.model;
  }
}

@Injectable()
class Llm {
  @TraceLLM({ model: 'gpt-sync', provider: 'openai' })
  completeSync(): { id: string; model: string; usage: { prompt_tokens: number; completion_tokens: number } } {
    return { id: 'cmpl-1', model: 'gpt-sync-2025', usage: { prompt_tokens: 11, completion_tokens: 22 } };
  }

  @TraceLLM({ model: 'claude-async', provider: 'anthropic', temperature: 0.2 })
  async completeAsync(): Promise<{ id: string; model: string; usage: { input_tokens: number; output_tokens: number } }> {
    await sleep(2);
    return { id: 'msg-1', model: 'claude-async-1', usage: { input_tokens: 5, output_tokens: 6 } };
  }

  @TraceLLM({ model: 'gpt-stream', provider: 'openai' })
  async *stream(): AsyncGenerator<{ model: string; choices: { index: number; delta: { content?: string } }[]; usage?: { prompt_tokens: number; completion_tokens: number } }> {
    for (const word of ['a', 'b', 'c']) {
      await sleep(15);
      yield { model: 'gpt-stream-1', choices: [{ index: 0, delta: { content: word } }] };
    }
    // The final chunk of `stream_options: { include_usage: true }`.
    yield { model: 'gpt-stream-1', choices: [], usage: { prompt_tokens: 8, completion_tokens: 3 } };
  }

  @TraceLLM({ model: 'gpt-fail', provider: 'openai' })
  async fail(): Promise<never> {
    await sleep(1);
    throw new Error('rate limited');
  }
}

const COMPLETION_OK = { id: 'chatcmpl-q', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'Within 30 days.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 4 } };
const SAW_QUESTION: Evaluator = { name: 'saw_question', evaluate: ({ question }) => ({ value: question?.includes('refund') === true }) };

@Controller('d')
class DecoratedController {
  constructor(@Inject(RagService) private readonly rag: RagService, @Inject(Llm) private readonly llm: Llm, @Inject(LlmscopeService) private readonly llmscope: LlmscopeService) {}

  @Get('sync')
  sync(): { model: string } {
    return { model: this.llm.completeSync().model };
  }

  @Get('async')
  async async(): Promise<{ model: string }> {
    return { model: (await this.llm.completeAsync()).model };
  }

  @Get('stream')
  async stream(): Promise<{ text: string; afterLastChunk: number }> {
    let text = '';
    for await (const chunk of this.llm.stream()) text += chunk.choices[0]?.delta.content ?? '';
    return { text, afterLastChunk: Date.now() };
  }

  @Get('fail')
  async fail(): Promise<string> {
    try {
      await this.llm.fail();
    } catch {
      // The app handles the failure; the LLM span still records it.
    }
    return 'handled';
  }

  @Get('class-prompt')
  answer(): Promise<string> {
    return this.rag.answer();
  }

  /** Nested scopes: the method-level prompt must not leak to the sibling call that follows. */
  @Get('scopes')
  @PromptVersion('handler', 'h1')
  async scopes(): Promise<string[]> {
    const inner = await this.rag.special();
    const sibling = await plainLlmCall('sibling-model');
    this.llmscope.setUser('svc-user');
    this.llmscope.tag('path', 'scopes');
    return [inner, sibling.model];
  }

  /** A prompt scope running beside undecorated code (Promise.all) does not leak into it. */
  @Get('parallel')
  async parallel(): Promise<string[]> {
    const [inner, beside] = await Promise.all([this.rag.special(), plainLlmCall('beside-model')]);
    return [inner, beside.model];
  }

  @Get('priced')
  async priced(): Promise<string> {
    await this.rag.priced();
    return 'ok';
  }

  /** An LLM call with its own evaluator: scored after it ends, off the response path. */
  @Get('evaluated')
  @TraceLLM({ model: 'gpt-4o-mini', provider: 'openai', promptName: 'judged', promptVersion: 'j1', evaluators: [{ name: 'answered', evaluate: ({ record }) => ({ value: (record.outputTokens ?? 0) > 0 }) }] })
  evaluated(): object {
    return { id: 'chatcmpl-e', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'yes' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } };
  }

  /** The prompt comes from the arguments (inputFrom); a picker that throws records no prompt. */
  @Get('asked')
  async asked(): Promise<string> {
    await this.ask([{ role: 'user', content: 'what is the refund policy?' }]);
    await this.askBroken('ignored');
    return 'ok';
  }

  @TraceLLM({ model: 'gpt-4o-mini', provider: 'openai', inputFrom: (args) => args[0], evaluators: [SAW_QUESTION] })
  ask(messages: unknown): object {
    void messages;
    return COMPLETION_OK;
  }

  @TraceLLM({ model: 'gpt-4o-mini', provider: 'openai', inputFrom: () => { throw new Error('bad picker'); }, evaluators: [SAW_QUESTION] })
  askBroken(question: string): object {
    void question;
    return COMPLETION_OK;
  }

  /** A score given through the service inside a prompt scope carries that prompt version. */
  @Get('scored')
  @PromptVersion('graded', 'g2')
  async scored(): Promise<string> {
    const result = this.llmscope.score({ name: 'helpfulness', value: 0.5, source: 'human' });
    return typeof result === 'string' ? result : `${result.promptName}@${result.promptVersion}`;
  }

  @Get('steps')
  async steps(): Promise<string[]> {
    return this.rag.retrieve('hello');
  }

  // Metadata decorator above and below the llmscope decorator: both must survive.
  @SetMetadata(ROLE, 'admin')
  @TraceLLM({ model: 'guarded-above' })
  @Get('guarded-above')
  @UseGuards(RoleGuard)
  guardedAbove(): { ok: boolean } {
    return { ok: true };
  }

  @Get('guarded-below')
  @UseGuards(RoleGuard)
  @PromptVersion('guarded', '1')
  @RagStep('guarded_step')
  @SetMetadata(ROLE, 'admin')
  guardedBelow(): { ok: boolean } {
    return { ok: true };
  }
}

function llmSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.CLIENT);
}

function spanNamed(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

function endMs(span: ReadableSpan): number {
  return span.endTime[0] * 1000 + span.endTime[1] / 1e6;
}

describe.each(PLATFORMS.map((p) => [p] as [Platform]))('decorators on %s', (platform) => {
  let nest: RunningNest;
  beforeAll(async () => {
    // Content capture on: evaluators read the prompt that @TraceLLM({ inputFrom }) records.
    const module = appModule(LlmscopeModule.forRoot({ llm: { captureContent: true } }), [DecoratedController]);
    // Providers of the test controller, in a module of their own under the app module.
    nest = await startNest(platform, { module, providers: [RagService, Llm, RoleGuard] });
  });
  afterAll(() => nest.close());
  afterEach(() => exporter.reset());

  test('@TraceLLM on a sync method: span with model, provider, usage and response model', async () => {
    await request(nest.url).get('/d/sync').expect(200, { model: 'gpt-sync-2025' });
    const span = spanNamed(await waitForSpans(exporter, (x) => llmSpans(x).length === 1), 'chat gpt-sync');
    expect(span.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-sync', 'gen_ai.response.model': 'gpt-sync-2025',
      'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 22,
    });
  });

  test('@TraceLLM on an async method, nested under the request span; LLM metrics recorded', async () => {
    await request(nest.url).get('/d/async').expect(200, { model: 'claude-async-1' });
    const spans = await waitForSpans(exporter, (x) => llmSpans(x).length === 1 && x.some((s) => s.kind === SpanKind.SERVER));
    const span = spanNamed(spans, 'chat claude-async');
    const server = spanNamed(spans, 'GET /d/async');
    expect(span.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(span.attributes).toMatchObject({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.temperature': 0.2, 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 6 });
    const s = parseMetrics((await request(nest.url).get('/metrics').expect(200)).text);
    expect(find(s, 'llmscope_llm_tokens_total', { model: 'claude-async', token_type: 'input' })[0]?.value).toBe(5);
  });

  test('@TraceLLM on a streaming method: the span ends when the stream ends, usage from the final chunk', async () => {
    const res = await request(nest.url).get('/d/stream').expect(200);
    expect(res.body.text).toBe('abc');
    const span = spanNamed(await waitForSpans(exporter, (x) => llmSpans(x).length === 1), 'chat gpt-stream');
    const durationMs = span.duration[0] * 1000 + span.duration[1] / 1e6;
    expect(durationMs).toBeGreaterThanOrEqual(40);
    expect(endMs(span)).toBeLessThanOrEqual(res.body.afterLastChunk + 1);
    expect(span.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 8, 'gen_ai.usage.output_tokens': 3, 'gen_ai.response.model': 'gpt-stream-1' });
  });

  test('@TraceLLM records a failed call as an ERROR span and passes the error on', async () => {
    await request(nest.url).get('/d/fail').expect(200);
    const span = spanNamed(await waitForSpans(exporter, (x) => llmSpans(x).length === 1), 'chat gpt-fail');
    expect(span.status.code).toBe(2);
    expect(span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('rate limited');
  });

  test('@PromptVersion on a class reaches undecorated code called from its methods', async () => {
    await request(nest.url).get('/d/class-prompt').expect(200);
    const span = spanNamed(await waitForSpans(exporter, (x) => llmSpans(x).length === 1), 'chat class-model');
    expect(span.attributes).toMatchObject({ 'llmscope.prompt.name': 'assistant', 'llmscope.prompt.version': 'v1' });
  });

  test('@PromptVersion scopes nest and end with the method; tags set inside reach the request', async () => {
    await request(nest.url).get('/d/scopes').expect(200, ['method-model-resp', 'sibling-model-resp']);
    const spans = await waitForSpans(exporter, (x) => llmSpans(x).length === 2 && x.some((s) => s.kind === SpanKind.SERVER));
    expect(spanNamed(spans, 'chat method-model').attributes).toMatchObject({ 'llmscope.prompt.name': 'special', 'llmscope.prompt.version': '7' });
    expect(spanNamed(spans, 'chat sibling-model').attributes).toMatchObject({ 'llmscope.prompt.name': 'handler', 'llmscope.prompt.version': 'h1' });
    expect(spanNamed(spans, 'GET /d/scopes').attributes).toMatchObject({ 'user.id': 'svc-user', 'llmscope.tag.path': 'scopes' });
  });

  test('@PromptVersion does not leak to code running beside it', async () => {
    await request(nest.url).get('/d/parallel').expect(200, ['method-model-resp', 'beside-model-resp']);
    const spans = await waitForSpans(exporter, (x) => llmSpans(x).length === 2);
    expect(spanNamed(spans, 'chat method-model').attributes['llmscope.prompt.name']).toBe('special');
    expect(spanNamed(spans, 'chat beside-model').attributes['llmscope.prompt.name']).toBeUndefined();
  });

  test('@PromptVersion labels the LLM metrics too (cost by prompt name and version)', async () => {
    await request(nest.url).get('/d/priced').expect(200);
    const s = parseMetrics((await request(nest.url).get('/metrics').expect(200)).text);
    const cost = find(s, 'llmscope_llm_cost_usd_total', { model: 'gpt-4o-mini', prompt_name: 'priced', prompt_version: 'p1' })[0];
    // 1000 input and 1000 output tokens at gpt-4o-mini's price, computed by the price library itself.
    expect(cost?.value).toBeCloseTo(GPT_4O_MINI_1000_1000, 12);
  });

  test('@TraceLLM({ evaluators }): the method\'s calls are evaluated off the response path, with their prompt version', async () => {
    await request(nest.url).get('/d/evaluated').expect(200);
    await request(nest.url).get('/d/evaluated').expect(200);
    await nest.app.get(LlmscopeService).llmscope.evaluations?.idle();
    const s = parseMetrics((await request(nest.url).get('/metrics').expect(200)).text);
    expect(find(s, 'llmscope_quality_score_count', { name: 'answered', prompt_name: 'judged', prompt_version: 'j1' })[0]?.value).toBe(2);
  });

  test('@TraceLLM({ inputFrom }) hands the method\'s prompt to evaluators; a throwing picker records none', async () => {
    await request(nest.url).get('/d/asked').expect(200);
    await nest.app.get(LlmscopeService).llmscope.evaluations?.idle();
    const s = parseMetrics((await request(nest.url).get('/metrics').expect(200)).text);
    // The evaluator scores 1 when it sees the question the method received.
    expect(find(s, 'llmscope_quality_score_sum', { name: 'saw_question' })[0]?.value).toBe(1);
    expect(find(s, 'llmscope_quality_score_count', { name: 'saw_question' })[0]?.value).toBe(2);
  });

  test('@TraceLLM with an invalid evaluator list fails when the class is defined', () => {
    expect(() => TraceLLM({ evaluators: [{ name: 'x' }] as never })).toThrow('llmscope: option `@TraceLLM evaluators[0].evaluate` is required: a function (input) => result | Promise<result>.');
  });

  test('LlmscopeService.score() inside a @PromptVersion scope: the score carries the prompt version', async () => {
    await request(nest.url).get('/d/scored').expect(200, 'graded@g2');
    const s = parseMetrics((await request(nest.url).get('/metrics').expect(200)).text);
    expect(find(s, 'llmscope_quality_score_count', { name: 'helpfulness', source: 'human', prompt_name: 'graded', prompt_version: 'g2' })[0]?.value).toBe(1);
  });

  test('@RagStep spans nest: steps and LLM calls inside a step are its children', async () => {
    await request(nest.url).get('/d/steps').expect(200, ['doc-5']);
    const spans = await waitForSpans(exporter, (x) => x.some((s) => s.kind === SpanKind.SERVER) && x.length === 4);
    const server = spanNamed(spans, 'GET /d/steps');
    const retrieve = spanNamed(spans, 'retrieve');
    expect(retrieve.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    const embed = spanNamed(spans, 'embed_query');
    expect(embed.parentSpanContext?.spanId).toBe(retrieve.spanContext().spanId);
    expect(embed.attributes).toMatchObject({ 'llmscope.step': 'embed_query', 'test.kind': 'embedding' });
    const rerank = spanNamed(spans, 'chat rerank-model');
    expect(rerank.parentSpanContext?.spanId).toBe(retrieve.spanContext().spanId);
    expect(rerank.attributes['llmscope.prompt.name']).toBe('assistant');
  });

  test('other decorators keep their metadata: routes still work and Reflector still reads SetMetadata', async () => {
    await request(nest.url).get('/d/guarded-above').expect(200, { ok: true });
    await request(nest.url).get('/d/guarded-below').expect(200, { ok: true });
    const spans = await waitForSpans(exporter, (x) => x.filter((s) => s.kind === SpanKind.SERVER).length === 2);
    expect(spanNamed(spans, 'guarded_step').parentSpanContext?.spanId).toBe(spanNamed(spans, 'GET /d/guarded-below').spanContext().spanId);
    expect(spanNamed(spans, 'chat guarded-above').kind).toBe(SpanKind.CLIENT);
  });
});
