/**
 * Evaluators off the response path: scores with the call's prompt version, retrieved documents
 * for evaluators (content capture on), the bounded queue (drops counted, requests not delayed),
 * timeouts, errors and invalid output, sampling, failure modes, shutdown, option validation.
 */
import { find, parseMetrics } from '@llmscope/testkit';
import {
  createLlmscope, citationEvaluator, lengthEvaluator, refusalEvaluator, retrievalAttributes, schemaEvaluator, setFeature, setPromptVersion, step, traceLLM,
  type Evaluator, type EvaluatorInput, type LlmscopeOptions, type ScoreRecord, type StandardSchemaV1,
} from '../../src';
import type express from 'express';
import { completion, ragApp, type RagApp } from '../exporters/exporter-app';

const DOCS = [{ id: 'doc-1', text: 'Refunds take 5 days.' }, { id: 'doc-2', pageContent: 'Shipping is free over $50.' }, 'a bare string document'];

/** `POST /rag`: a retrieval step with ids, then one LLM call whose answer is `x-answer` (default cites doc-1). */
function ragRoute(app: express.Express): void {
  app.post('/rag', async (req, res) => {
    setFeature('support-chat');
    setPromptVersion('rag-answer', '3');
    const docs = await step('vector_search', async () => DOCS, retrievalAttributes({ dataSourceId: 'kb', topK: 3 }));
    const answer = String(req.headers['x-answer'] ?? 'Refunds take 5 days [doc-1].');
    const reply = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', input: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `How long do refunds take? (${docs.length} docs)` }] },
      async () => completion(answer));
    res.json(reply);
  });
}

async function post(app: RagApp, answer?: string): Promise<{ ms: number; traceId: string }> {
  const started = performance.now();
  const res = await fetch(`${app.url}/rag`, { method: 'POST', headers: answer === undefined ? {} : { 'x-answer': answer } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`rag answered ${res.status}`);
  return { ms: performance.now() - started, traceId: res.headers.get('x-trace-id') ?? '' };
}

async function metrics(app: RagApp) {
  return parseMetrics(await app.mw.llmscope.registry!.metrics());
}

function outcomes(samples: ReturnType<typeof parseMetrics>, evaluator: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of find(samples, 'llmscope_evaluations_total', { evaluator })) out[s.labels.outcome as string] = s.value;
  return out;
}


async function withApp(options: LlmscopeOptions<express.Request>, fn: (app: RagApp) => Promise<void>): Promise<void> {
  const app = await ragApp(options, ragRoute);
  try {
    await fn(app);
  } finally {
    await app.mw.llmscope.shutdown(2000);
    await app.close();
  }
}

describe('evaluators', () => {
  test('custom and built-in evaluators score each call: the call\'s prompt version and feature, documents, failure modes', async () => {
    const inputs: EvaluatorInput[] = [];
    const custom: Evaluator = {
      name: 'custom',
      evaluate: (input) => {
        inputs.push(input);
        return [{ name: 'helpfulness', value: 0.8, comment: 'fine' }, { failureMode: 'off_topic' }, { name: 'odd', value: 0.1, failureMode: 'made_up_mode' }];
      },
    };
    const seen: ScoreRecord[] = [];
    await withApp({
      llm: { captureContent: true },
      evaluations: { evaluators: [custom, citationEvaluator(), refusalEvaluator(), lengthEvaluator({ max: 10, failureMode: 'format_error' })] },
    }, async (app) => {
      app.mw.llmscope.onScore((s) => seen.push(s));
      const { traceId } = await post(app);
      await post(app, "I'm sorry, but I can't help with that [doc-9].");
      await app.mw.llmscope.evaluations!.idle();

      const [input] = inputs;
      expect(input?.question).toBe('How long do refunds take? (3 docs)');
      expect(input?.answer).toBe('Refunds take 5 days [doc-1].');
      expect(input?.messages.map((m) => m.role)).toEqual(['system', 'user']);
      expect(input?.documents).toEqual([{ id: 'doc-1', text: 'Refunds take 5 days.' }, { id: 'doc-2', text: 'Shipping is free over $50.' }, { text: 'a bare string document' }]);
      expect(input?.record.traceId).toBe(traceId);

      const first = seen.filter((s) => s.traceId === traceId);
      expect(first.map((s) => [s.name, s.value, s.evaluator, s.source, s.target])).toEqual(expect.arrayContaining([
        ['helpfulness', 0.8, 'custom', 'code', 'call'], ['failure_mode', 'off_topic', 'custom', 'code', 'call'],
        ['citation_accuracy', 1, 'citation_accuracy', 'code', 'call'], ['refusal', false, 'refusal', 'code', 'call'], ['answer_length', false, 'answer_length', 'code', 'call'],
      ]));
      expect(first.every((s) => s.spanId === input?.record.spanId && s.promptVersion === '3' && s.feature === 'support-chat')).toBe(true);

      const m = await metrics(app);
      expect(find(m, 'llmscope_quality_score_count', { name: 'helpfulness', evaluator: 'custom', source: 'code', feature: 'support-chat', prompt_name: 'rag-answer', prompt_version: '3' })[0]?.value).toBe(2);
      expect(find(m, 'llmscope_quality_score_sum', { name: 'citation_accuracy' })[0]?.value).toBe(1); // 1 + 0 (doc-9 was not retrieved)
      expect(find(m, 'llmscope_quality_score_sum', { name: 'refusal' })[0]?.value).toBe(1);
      const failures = (evaluator: string, mode: string) => find(m, 'llmscope_quality_failures_total', { evaluator, failure_mode: mode, feature: 'support-chat' })[0]?.value;
      expect(failures('custom', 'off_topic')).toBe(2);
      expect(failures('custom', 'other')).toBe(2);
      expect(failures('citation_accuracy', 'hallucination')).toBe(1);
      expect(failures('refusal', 'refusal')).toBe(1);
      expect(failures('answer_length', 'format_error')).toBe(2);
      expect(outcomes(m, 'custom')).toEqual({ ok: 2 });
      expect(find(m, 'llmscope_evaluations_queue_depth')[0]?.value).toBe(0);
    });
  });

  test('documents are not kept without content capture, and nothing is queued per call without evaluators', async () => {
    const inputs: EvaluatorInput[] = [];
    await withApp({ evaluations: { evaluators: [{ name: 'spy', evaluate: (i) => void inputs.push(i) }] } }, async (app) => {
      await post(app);
      await app.mw.llmscope.evaluations!.idle();
      expect(inputs).toHaveLength(1);
      expect(inputs[0]).toMatchObject({ documents: [], messages: [], question: undefined, answer: undefined });
      expect(app.mw.llmscope.documentCapture).toBeUndefined();
    });
    await withApp({ llm: { captureContent: true } }, async (app) => {
      await post(app);
      expect(app.mw.llmscope.evaluations).toBeUndefined();
      expect(app.mw.llmscope.documentCapture).toBeUndefined();
      expect(find(await metrics(app), 'llmscope_evaluations_total')).toEqual([]);
    });
  });

  test('documents are bounded per request and clipped', async () => {
    const inputs: EvaluatorInput[] = [];
    await withApp({ llm: { captureContent: true, maxContentLength: 8 }, evaluations: { maxDocuments: 2, evaluators: [{ name: 'spy', evaluate: (i) => void inputs.push(i) }] } }, async (app) => {
      await post(app);
      await app.mw.llmscope.evaluations!.idle();
      expect(inputs[0]?.documents).toEqual([{ id: 'doc-1', text: 'Refunds …' }, { id: 'doc-2', text: 'Shipping…' }]);
    });
  });

  test('a full queue drops and counts; requests are not delayed by evaluators; shutdown waits for queued work, bounded', async () => {
    let started = 0;
    let finished = 0;
    // Evaluations wait on a gate the test opens: a request that waited for one would never end.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const slow: Evaluator = {
      name: 'slow',
      evaluate: async () => {
        started++;
        await gate;
        finished++;
        return { value: 1 };
      },
    };
    const app = await ragApp({ evaluations: { queue: { maxItems: 2, concurrency: 1 }, evaluators: [slow] } }, ragRoute);
    try {
      for (let i = 0; i < 6; i++) await post(app);
      // Every request ended while no evaluation could finish: none waited for an evaluator.
      expect(finished).toBe(0);
      const m = await metrics(app);
      // One running, two queued, the rest dropped.
      expect(outcomes(m, 'slow').dropped).toBe(3);
      expect(find(m, 'llmscope_evaluations_queue_depth')[0]?.value).toBe(2);
      const t0 = performance.now();
      open();
      await app.mw.llmscope.shutdown(8000);
      expect(finished).toBe(3);
      // Returned when the queue drained, within its budget.
      expect(performance.now() - t0).toBeLessThan(8000);
      expect(outcomes(await metrics(app), 'slow')).toEqual({ ok: 3, dropped: 3 });
      // After shutdown no call is queued any more.
      await post(app);
      expect(started).toBe(3);
    } finally {
      await app.close();
    }
  });

  test('shutdown is bounded: evaluations not started in time are dropped, counted', async () => {
    const app = await ragApp({ evaluations: { queue: { concurrency: 1 }, evaluators: [{ name: 'stuck', timeoutMs: 60_000, evaluate: () => new Promise<undefined>(() => undefined) }] } }, ragRoute);
    try {
      await post(app);
      await post(app);
      const t0 = performance.now();
      await app.mw.llmscope.shutdown(400);
      // The stuck evaluation's own timeout is 60 s: shutdown returned on its 400 ms budget, with
      // room for a loaded machine.
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(outcomes(await metrics(app), 'stuck')).toEqual({ dropped: 1 });
    } finally {
      await app.close();
    }
  });

  test('timeouts abort the evaluator; errors, invalid results and a throwing `when` are counted, never thrown', async () => {
    let aborted = false;
    const evaluators: Evaluator[] = [
      { name: 'hangs', timeoutMs: 50, evaluate: ({ signal }) => new Promise(() => signal.addEventListener('abort', () => { aborted = true; })) },
      { name: 'throws', evaluate: () => { throw new Error('bug in evaluator'); } },
      { name: 'rejects', evaluate: async () => Promise.reject(new Error('down')) },
      { name: 'nan', evaluate: () => ({ value: Number.NaN }) },
      { name: 'junk', evaluate: () => 42 as never },
      { name: 'bad-when', when: () => { throw new Error('when'); }, evaluate: () => ({ value: 1 }) },
      { name: 'skips', when: (r) => r.model === 'another-model', evaluate: () => ({ value: 1 }) },
    ];
    await withApp({ evaluations: { evaluators } }, async (app) => {
      const { ms } = await post(app);
      // Generous (a loaded 2-core CI machine): a request that waited on `hangs` would never end.
      expect(ms).toBeLessThan(5000);
      await app.mw.llmscope.evaluations!.idle();
      const m = await metrics(app);
      expect(outcomes(m, 'hangs')).toEqual({ timeout: 1 });
      expect(aborted).toBe(true);
      expect(outcomes(m, 'throws')).toEqual({ error: 1 });
      expect(outcomes(m, 'rejects')).toEqual({ error: 1 });
      expect(outcomes(m, 'nan')).toEqual({ invalid_output: 1 });
      expect(outcomes(m, 'junk')).toEqual({ invalid_output: 1 });
      expect(outcomes(m, 'bad-when')).toEqual({ error: 1 });
      expect(outcomes(m, 'skips')).toEqual({});
    });
  });

  test('sampling: rate 0 evaluates none, 1 all, 0.5 about half, the same calls on every instance', async () => {
    const picked: Record<string, Set<string>> = { none: new Set(), all: new Set(), half: new Set(), half2: new Set() };
    const spy = (name: string, sampleRate: number, into = name): Evaluator => ({ name, sampleRate, evaluate: ({ record }) => void picked[into]?.add(record.spanId ?? '') });
    const a = createLlmscope({ metrics: false, evaluations: { evaluators: [spy('none', 0), spy('all', 1), spy('half', 0.5)] } });
    const calls: string[] = [];
    a.onLlmCall((r) => calls.push(r.spanId ?? ''));
    for (let i = 0; i < 200; i++) await a.traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('x'));
    await a.evaluations!.idle();
    expect(picked.none?.size).toBe(0);
    expect(picked.all?.size).toBe(200);
    expect(picked.half?.size).toBeGreaterThan(60);
    expect(picked.half?.size).toBeLessThan(140);
    await a.shutdown(500);
    // Another replica with the same evaluator name samples the same calls (decided from the span id).
    const b = createLlmscope({ metrics: false, evaluations: { evaluators: [spy('half', 0.5, 'half2')] } });
    const runner = b.evaluations!;
    for (const spanId of calls) runner.sink({ ...fakeRecord(), spanId });
    await runner.idle();
    expect([...(picked.half2 ?? [])].sort()).toEqual([...(picked.half ?? [])].sort());
    await b.shutdown(500);
  });

  test('built-in schema evaluator: compliant, non-compliant and non-JSON answers', async () => {
    const answerSchema: StandardSchemaV1<unknown, { answer: string }> = {
      '~standard': {
        version: 1, vendor: 'test',
        validate: (v) => (typeof (v as { answer?: unknown } | null)?.answer === 'string' ? { value: v as { answer: string } } : { issues: [{ message: 'Required', path: ['answer'] }] }),
      },
    };
    const seen: ScoreRecord[] = [];
    await withApp({ llm: { captureContent: true }, evaluations: { evaluators: [schemaEvaluator({ schema: answerSchema })] } }, async (app) => {
      app.mw.llmscope.onScore((s) => seen.push(s));
      await post(app, '{"answer":"5 days"}');
      await post(app, '{"reply":"5 days"}');
      await post(app, 'five days');
      await app.mw.llmscope.evaluations!.idle();
      expect(seen.map((s) => [s.value, s.comment])).toEqual([[true, undefined], [false, 'answer: Required'], [false, expect.stringMatching(/^not valid JSON/)]]);
      expect(find(await metrics(app), 'llmscope_quality_failures_total', { evaluator: 'schema', failure_mode: 'format_error' })[0]?.value).toBe(2);
    });
  });

  test('failure modes are a declared, bounded set', async () => {
    await withApp({ evaluations: { failureModes: ['wrong_product'], evaluators: [{ name: 'taxonomy', evaluate: () => [{ failureMode: 'wrong_product' }, { failureMode: 'hallucination' }] }] } }, async (app) => {
      await post(app);
      await app.mw.llmscope.evaluations!.idle();
      const m = await metrics(app);
      expect(find(m, 'llmscope_quality_failures_total', { evaluator: 'taxonomy' }).map((s) => [s.labels.failure_mode, s.value]).sort()).toEqual([['other', 1], ['wrong_product', 1]]);
    });
  });

  test('evaluators that read the answer warn once when content capture is off', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const off = createLlmscope({ metrics: false, evaluations: { evaluators: [citationEvaluator(), { name: 'mine', evaluate: () => undefined }] } });
    const on = createLlmscope({ metrics: false, llm: { captureContent: true }, evaluations: { evaluators: [refusalEvaluator()] } });
    const messages = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('captureContent'));
    warn.mockRestore();
    expect(messages).toEqual(['llmscope: evaluators citation_accuracy read the prompt and answer, but `llm.captureContent` is off: they will not run. Set `llm: { captureContent: true }`.']);
    await Promise.all([off.shutdown(100), on.shutdown(100)]);
  });

  test('bad options are reported with the option path', () => {
    const make = (evaluations: unknown) => () => createLlmscope({ metrics: false, evaluations: evaluations as never });
    expect(make({ evaluators: [{ name: 'x' }] })).toThrow('llmscope: option `evaluations.evaluators[0].evaluate` is required: a function (input) => result | Promise<result>.');
    expect(make({ evaluators: [{ name: 'x', evaluate: () => undefined, sampleRate: 2 }] })).toThrow('llmscope: option `evaluations.evaluators[0].sampleRate` must be a number between 0 and 1, such as 0.05 for 5%, got 2.');
    expect(make({ evaluators: [{ name: 'x', evaluate: () => undefined, sampelRate: 0.5 }] })).toThrow('llmscope: unknown option `evaluations.evaluators[0].sampelRate`. Did you mean `evaluations.evaluators[0].sampleRate`?');
    expect(make({ evaluators: [{ name: 'x', evaluate: () => undefined }, { name: 'x', evaluate: () => undefined }] })).toThrow('llmscope: option `evaluations.evaluators[1].name` must be unique, got "x" twice.');
    expect(make({ evaluators: [null] })).toThrow('llmscope: option `evaluations.evaluators[0]` must be an evaluator such as { name: "citations", evaluate: (input) => ({ value: 1 }) }, got null.');
    expect(make({ queue: { maxItems: 0 } })).toThrow('llmscope: option `evaluations.queue.maxItems` must be a positive integer, got 0.');
    expect(make({ failureModes: ['ok', ''] })).toThrow('llmscope: option `evaluations.failureModes[1]` must be a label of 1 to 64 characters, got an empty string.');
    expect(() => refusalEvaluator({ phrase: ['no'] } as never)).toThrow('llmscope: unknown option `refusalEvaluator.phrase`. Did you mean `refusalEvaluator.phrases`?');
  });
});

function fakeRecord() {
  return {
    traceId: undefined, spanId: undefined, requestSpanId: undefined, operation: 'chat', provider: 'openai', model: 'm', responseModel: undefined, responseId: undefined,
    finishReasons: undefined, temperature: undefined, maxTokens: undefined, topP: undefined, startTimeMs: 0, seconds: 0, timeToFirstChunk: undefined,
    inputTokens: undefined, outputTokens: undefined, cacheReadTokens: undefined, cacheCreationTokens: undefined, usageEstimated: false, costUsd: undefined,
    retries: 0, outcome: 'ok' as const, errorType: undefined, error: undefined, streamEnd: undefined, userId: undefined, sessionId: undefined, feature: undefined,
    promptName: undefined, promptVersion: undefined, inputMessages: undefined, outputMessages: undefined, source: 'llmscope' as const,
  };
}
