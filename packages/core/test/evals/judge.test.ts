/**
 * LLM-as-judge against the testkit's LlmServer (a real OpenAI-compatible HTTP server, the real
 * `openai` SDK): good, bad and garbage verdicts, a judge timing out, the judge's calls traced and
 * priced under their own feature and never evaluated themselves.
 */
import OpenAI from 'openai';
import { SpanKind } from '@opentelemetry/api';
import { LlmServer, find, memoryExporter, parseMetrics, waitFor, waitForSpans } from '@llmscope/testkit';
import {
  JUDGE_FEATURE, instrumentOpenAI, judgeEvaluator, retrievalAttributes, setFeature, setPromptVersion, step, traceLLM,
  type Evaluator, type LlmCallRecord, type ScoreRecord,
} from '../../src';
import { judgePrompt, parseVerdict } from '../../src/evals/judge';
import type express from 'express';
import { completion, ragApp, type RagApp } from '../exporters/exporter-app';

const exporter = memoryExporter();
let llm: LlmServer;

beforeAll(async () => {
  llm = await LlmServer.start();
});
afterAll(() => llm.close());
afterEach(() => {
  exporter.reset();
  llm.reset();
});

function ragRoute(app: express.Express): void {
  app.post('/rag', async (_req, res) => {
    setFeature('support-chat');
    setPromptVersion('rag-answer', '3');
    await step('vector_search', async () => [{ id: 'doc-1', text: 'Refunds take 5 days.' }], retrievalAttributes({ dataSourceId: 'kb' }));
    const reply = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', input: [{ role: 'user', content: 'How long do refunds take?' }] },
      async () => completion('Refunds take 5 days [doc-1].'));
    res.json(reply);
  });
}

interface Judged {
  app: RagApp;
  scores: ScoreRecord[];
  calls: LlmCallRecord[];
  traceId: string;
  ms: number;
}

async function judged(judge: Evaluator, fn: (j: Judged) => Promise<void>): Promise<void> {
  const app = await ragApp({ llm: { captureContent: true }, evaluations: { evaluators: [judge] } }, ragRoute);
  const scores: ScoreRecord[] = [];
  const calls: LlmCallRecord[] = [];
  app.mw.llmscope.onScore((s) => scores.push(s));
  app.mw.llmscope.onLlmCall((r) => calls.push(r));
  try {
    const started = performance.now();
    const res = await fetch(`${app.url}/rag`, { method: 'POST' });
    await res.arrayBuffer();
    const ms = performance.now() - started;
    await app.mw.llmscope.evaluations!.idle();
    await fn({ app, scores, calls, traceId: res.headers.get('x-trace-id') ?? '', ms });
  } finally {
    await app.mw.llmscope.shutdown(2000);
    await app.close();
  }
}

async function metrics(app: RagApp) {
  return parseMetrics(await app.mw.llmscope.registry!.metrics());
}

function outcomes(samples: ReturnType<typeof parseMetrics>, evaluator: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of find(samples, 'llmscope_evaluations_total', { evaluator })) out[s.labels.outcome as string] = s.value;
  return out;
}

/** A plain (not instrumented) client: llmscope traces the judge's calls itself. */
function client(timeout?: number): OpenAI {
  return new OpenAI({ apiKey: 'test-key', baseURL: llm.openaiBaseURL, maxRetries: 0, timeout });
}

describe('judgeEvaluator against an OpenAI-compatible server', () => {
  test('a good verdict: a judge score with the call\'s prompt version; the judge\'s call traced and priced under its own feature, never evaluated', async () => {
    llm.enqueue({ text: '```json\n{"score": 0.9, "reason": "Answers the refund question."}\n```', usage: { input: 400, output: 20 } });
    await judged(judgeEvaluator({ rubric: 'relevance', client: client(), model: 'gpt-4o-mini' }), async ({ app, scores, traceId }) => {
      expect(scores).toHaveLength(1);
      expect(scores[0]).toMatchObject({
        name: 'relevance', value: 0.9, source: 'judge', evaluator: 'judge-relevance', target: 'call', traceId,
        comment: 'Answers the refund question.', feature: 'support-chat', promptName: 'rag-answer', promptVersion: '3',
      });
      // The judge saw the question and the answer, and asked for JSON.
      const prompt = String((llm.requests[0]?.body.messages as { content: string }[])[0]?.content);
      expect(prompt).toContain('How long do refunds take?');
      expect(prompt).toContain('Refunds take 5 days [doc-1].');
      expect(prompt).toContain('Relevance');
      expect(llm.requests[0]?.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0 });

      const m = await metrics(app);
      expect(find(m, 'llmscope_quality_score_count', { name: 'relevance', source: 'judge', evaluator: 'judge-relevance', prompt_version: '3', feature: 'support-chat' })[0]?.value).toBe(1);
      // One evaluation: the judge's own call was not evaluated in turn.
      expect(outcomes(m, 'judge-relevance')).toEqual({ ok: 1 });
      // Cost per feature: the judge's apart from the app's.
      const cost = (feature: string) => find(m, 'llmscope_llm_cost_usd_total', { feature })[0]?.value ?? 0;
      const appCost = (120 * 0.15 + 30 * 0.6) / 1e6;
      const judgeCost = (400 * 0.15 + 20 * 0.6) / 1e6;
      expect(cost('support-chat')).toBeCloseTo(appCost, 12);
      expect(cost(JUDGE_FEATURE)).toBeCloseTo(judgeCost, 12);
      const report = app.mw.llmscope.costReport();
      expect(report?.byFeature.top.find((f) => f.key === JUDGE_FEATURE)?.costUsd).toBeCloseTo(judgeCost, 12);
      expect(report?.byFeature.top.find((f) => f.key === 'support-chat')?.costUsd).toBeCloseTo(appCost, 12);

      // A trace of its own: `evaluate judge-relevance` (linked to the judged call) over the judge's LLM span.
      const spans = await waitForSpans(exporter, (x) => x.some((s) => s.name === 'evaluate judge-relevance') && x.some((s) => s.kind === SpanKind.SERVER));
      const root = spans.find((s) => s.name === 'evaluate judge-relevance');
      const judged = spans.find((s) => s.name === 'chat gpt-4o-mini' && s.spanContext().traceId === traceId);
      const judgeCall = spans.find((s) => s.name === 'chat gpt-4o-mini' && s.parentSpanContext?.spanId === root?.spanContext().spanId);
      expect(root?.parentSpanContext).toBeUndefined();
      expect(root?.spanContext().traceId).not.toBe(traceId);
      expect(root?.links[0]?.context.spanId).toBe(judged?.spanContext().spanId);
      expect(judgeCall?.attributes['llmscope.feature']).toBe(JUDGE_FEATURE);
      expect(judgeCall?.attributes['gen_ai.usage.input_tokens']).toBe(400);
    });
  });

  test('a bad verdict: a low score and the rubric\'s failure mode', async () => {
    llm.enqueue({ text: '{"score": 0.2, "reason": "Talks about shipping instead."}' });
    await judged(judgeEvaluator({ rubric: 'relevance', client: client(), model: 'gpt-4o-mini' }), async ({ app, scores }) => {
      expect(scores.map((s) => [s.name, s.value, s.comment])).toEqual([['relevance', 0.2, 'Talks about shipping instead.']]);
      const m = await metrics(app);
      expect(find(m, 'llmscope_quality_failures_total', { evaluator: 'judge-relevance', failure_mode: 'off_topic', feature: 'support-chat' })[0]?.value).toBe(1);
      expect(outcomes(m, 'judge-relevance')).toEqual({ ok: 1 });
    });
  });

  test('a garbage verdict is counted as invalid_output, not thrown, and records no score', async () => {
    llm.enqueue({ text: 'I like turtles. Also 7 and 12.' });
    await judged(judgeEvaluator({ rubric: 'relevance', client: client(), model: 'gpt-4o-mini' }), async ({ app, scores, ms }) => {
      // Generous: a loaded 2-core CI machine; a request that waited on its judge would hang here.
      expect(ms).toBeLessThan(5000);
      expect(scores).toEqual([]);
      expect(outcomes(await metrics(app), 'judge-relevance')).toEqual({ invalid_output: 1 });
    });
  });

  test('an out-of-range score is invalid output too', async () => {
    llm.enqueue({ text: '{"score": 8, "reason": "good"}' });
    await judged(judgeEvaluator({ rubric: 'tone', client: client(), model: 'gpt-4o-mini' }), async ({ app, scores }) => {
      expect(scores).toEqual([]);
      expect(outcomes(await metrics(app), 'judge-tone')).toEqual({ invalid_output: 1 });
    });
  });

  test('a judge that times out: counted, its request aborted, the app\'s request not delayed', async () => {
    llm.enqueue({ headersDelayMs: 15_000, text: '{"score": 1}' });
    await judged(judgeEvaluator({ rubric: 'relevance', client: client(), model: 'gpt-4o-mini', timeoutMs: 200 }), async ({ app, scores, calls, ms }) => {
      // The judge answers after 15 s: the request did not wait for it (nor for its 200 ms timeout's
      // abort). 15 s, not 3: a loaded CI machine can take seconds over a request.
      expect(ms).toBeLessThan(15_000);
      expect(scores).toEqual([]);
      expect(outcomes(await metrics(app), 'judge-relevance')).toEqual({ timeout: 1 });
      // The aborted judge call ends as a failed call of the judge's feature, long before the server would answer.
      const aborted = await waitFor(() => calls.find((c) => c.feature === JUDGE_FEATURE), 10_000, 'the aborted judge call');
      expect(aborted).toMatchObject({ outcome: 'error', errorType: 'APIUserAbortError' });
      expect(calls.filter((c) => c.feature === 'support-chat').map((c) => c.outcome)).toEqual(['ok']);
    });
  });

  test('a judge as a function with an instrumented client; a verdict in plain text; groundedness sees the documents', async () => {
    const judgeClient = instrumentOpenAI(client());
    const ask = async (prompt: string, signal: AbortSignal): Promise<string> => {
      const reply = await judgeClient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }, { signal });
      return reply.choices[0]?.message.content ?? '';
    };
    llm.enqueue({ text: 'The answer is supported. Score: 0.75' });
    await judged(judgeEvaluator({ rubric: 'groundedness', call: ask }), async ({ app, scores, calls }) => {
      expect(scores.map((s) => [s.name, s.value, s.source, s.evaluator])).toEqual([['groundedness', 0.75, 'judge', 'judge-groundedness']]);
      const prompt = String((llm.requests[0]?.body.messages as { content: string }[])[0]?.content);
      expect(prompt).toContain('[doc-1] Refunds take 5 days.');
      const m = await metrics(app);
      // The app's call and the judge's, each counted once; the judge's cost under its own feature.
      expect(calls.map((c) => c.feature)).toEqual(['support-chat', JUDGE_FEATURE]);
      expect(find(m, 'gen_ai_client_operation_duration_seconds_count', {}).reduce((n, x) => n + x.value, 0)).toBe(2);
      const judgeCost = calls.find((c) => c.feature === JUDGE_FEATURE)?.costUsd;
      expect(typeof judgeCost).toBe('number');
      expect(find(m, 'llmscope_llm_cost_usd_total', { feature: JUDGE_FEATURE })[0]?.value).toBeCloseTo(judgeCost as number, 12);
      expect(outcomes(m, 'judge-groundedness')).toEqual({ ok: 1 });
    });
  });

  test('bad judge options are reported with the option path', () => {
    expect(() => judgeEvaluator({ rubric: 'relevance' })).toThrow('llmscope: option `judgeEvaluator.call` is required: a function (prompt, signal) => Promise<string>, or `client` and `model`.');
    expect(() => judgeEvaluator({ rubric: 'relevance', client: client() })).toThrow('llmscope: option `judgeEvaluator.model` is required: the judge model, with `client`.');
    expect(() => judgeEvaluator({ rubric: 'relevance', call: async () => '1', sampleRate: 5 })).toThrow('llmscope: option `judgeEvaluator.sampleRate` must be a number between 0 and 1, such as 0.05 for 5%, got 5.');
  });
});

describe('parseVerdict', () => {
  test.each([
    ['{"score": 0.8, "reason": "ok"}', { score: 0.8, reason: 'ok' }],
    ['Sure! ```json\n{"score": "0.5", "explanation": "half"}\n```', { score: 0.5, reason: 'half' }],
    ['{"rating": 1}', { score: 1, reason: undefined }],
    ['{"score": true}', { score: 1, reason: undefined }],
    ['Score: 0.3 because it rambles', { score: 0.3, reason: 'Score: 0.3 because it rambles' }],
    ['I would give it 8/10.', { score: 0.8, reason: 'I would give it 8/10.' }],
    ['0.6', { score: 0.6, reason: '0.6' }],
    ['{"score": 1.5}', undefined],
    ['{"score": "high"}', undefined],
    ['Score: 7', undefined],
    ['no idea', undefined],
    ['between 0.2 and 0.4', undefined],
    ['', undefined],
  ])('%j', (text, expected) => {
    expect(parseVerdict(text)).toEqual(expected);
  });

  test('custom criteria and documents in the prompt', () => {
    const prompt = judgePrompt('Does the answer quote a price?', { question: 'q', answer: 'a', documents: [{ id: 'd', text: 't' }] });
    expect(prompt).toContain('Criterion: Does the answer quote a price?');
    expect(prompt).toContain('[d] t');
  });
});
