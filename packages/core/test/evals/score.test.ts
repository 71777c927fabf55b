/**
 * score(): during the request and after it (by trace id), into the quality metrics, the trace,
 * the log line and Langfuse (through @langfuse/client's ingestion API, to the testkit receiver).
 */
import { SpanKind } from '@opentelemetry/api';
import { LangfuseServer, find, memoryExporter, memoryLogger, parseMetrics, waitForSpans } from '@llmscope/testkit';
import { score, traceLLM, type ScoreRecord } from '../../src';
import { chat, completion, ragApp, type RagApp } from '../exporters/exporter-app';

const exporter = memoryExporter();

async function metrics(app: RagApp) {
  return parseMetrics(await app.mw.llmscope.registry!.metrics());
}

describe('score()', () => {
  let langfuse: LangfuseServer;
  let app: RagApp;
  let lines: Record<string, unknown>[];
  const seen: ScoreRecord[] = [];

  beforeAll(async () => {
    langfuse = await new LangfuseServer().start();
    const log = memoryLogger();
    lines = log.lines;
    app = await ragApp({
      exporters: { langfuse: { publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: langfuse.url }, queue: { scheduledDelayMs: 50 } },
      logging: { logger: log.logger },
      evaluations: { recentTraces: 3 },
    }, (express) => {
      express.post('/graded', async (_req, res) => {
        // Inside the LLM call: a `call` score, on the LLM span.
        const answer = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
          score({ name: 'format_ok', value: true, evaluator: 'json-check' });
          return completion('Answer [doc-1].');
        });
        // After it, in the request: a trace score, and a categorical one.
        score({ name: 'citation_accuracy', value: 0.75, evaluator: 'citations' });
        score({ name: 'failure_mode', value: 'off_topic', evaluator: 'taxonomy' });
        res.json(answer);
      });
    });
    app.mw.llmscope.onScore((s) => seen.push(s));
  });
  afterAll(async () => {
    await app.mw.llmscope.shutdown();
    await app.close();
    await langfuse.close();
  });
  beforeEach(() => {
    exporter.reset();
    seen.length = 0;
  });

  test('during the request: metrics, trace events, log lines and Langfuse scores, with the request\'s prompt version', async () => {
    const res = await fetch(`${app.url}/graded`, { method: 'POST', headers: { 'x-user-id': 'u-1', 'x-session-id': 's-1' } });
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-trace-id') ?? '';
    expect(seen.map((s) => [s.name, s.target, s.dataType, s.numericValue])).toEqual([
      ['format_ok', 'call', 'BOOLEAN', 1], ['citation_accuracy', 'trace', 'NUMERIC', 0.75], ['failure_mode', 'trace', 'CATEGORICAL', undefined],
    ]);

    const spans = await waitForSpans(exporter, (x) => x.filter((s) => s.spanContext().traceId === traceId && s.name.startsWith('evaluation ')).length === 3
      && x.some((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId));
    const mine = spans.filter((s) => s.spanContext().traceId === traceId);
    const llm = mine.find((s) => s.name === 'chat gpt-4o-mini');
    const server = mine.find((s) => s.kind === SpanKind.SERVER);
    const format = mine.find((s) => s.name === 'evaluation format_ok');
    expect(format?.parentSpanContext?.spanId).toBe(llm?.spanContext().spanId);
    expect(format?.events[0]).toMatchObject({ name: 'gen_ai.evaluation.result', attributes: { 'gen_ai.evaluation.name': 'format_ok', 'gen_ai.evaluation.score.value': 1 } });
    const citation = mine.find((s) => s.name === 'evaluation citation_accuracy');
    expect(citation?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(mine.find((s) => s.name === 'evaluation failure_mode')?.attributes['gen_ai.evaluation.score.label']).toBe('off_topic');

    const m = await metrics(app);
    expect(find(m, 'llmscope_quality_score_count', { name: 'citation_accuracy', evaluator: 'citations', source: 'code', prompt_name: 'none' })[0]?.value).toBe(1);
    expect(find(m, 'llmscope_quality_score_sum', { name: 'format_ok' })[0]?.value).toBe(1);
    expect(find(m, 'llmscope_quality_labels_total', { name: 'failure_mode', value: 'off_topic' })[0]?.value).toBe(1);

    expect(lines.filter((l) => l.event === 'score' && l.trace_id === traceId).map((l) => l.name)).toEqual(['format_ok', 'citation_accuracy', 'failure_mode']);

    const scores = await langfuse.waitForScores((s) => s.filter((x) => x.traceId === traceId).length === 3);
    const byName = new Map(scores.filter((x) => x.traceId === traceId).map((x) => [x.name, x]));
    expect(byName.get('format_ok')).toMatchObject({ value: 1, dataType: 'BOOLEAN', observationId: llm?.spanContext().spanId });
    expect(byName.get('citation_accuracy')).toMatchObject({ value: 0.75, dataType: 'NUMERIC', metadata: { source: 'code', evaluator: 'citations' } });
    expect(byName.get('citation_accuracy')?.observationId).toBeUndefined();
    expect(byName.get('failure_mode')).toMatchObject({ value: 'off_topic', dataType: 'CATEGORICAL' });
    expect(langfuse.unauthorized).toBe(0);
  });

  test('after the request, by trace id: the trace\'s prompt version, feature and session come from the recent-trace index', async () => {
    const traceId = await chat(app.url, 'refunds?', 'u-7', 's-7');
    // Minutes later (simulated): outside any request, only the trace id is known.
    const result = score({ name: 'user_feedback', value: 0, source: 'human', traceId, comment: 'wrong, mail me at bob@example.com' });
    expect(result).toMatchObject({ promptName: 'rag-answer', promptVersion: '3', feature: 'support-chat', sessionId: 's-7', userId: 'u-7', target: 'trace' });
    const m = await metrics(app);
    expect(find(m, 'llmscope_quality_score_count', { name: 'user_feedback', source: 'human', feature: 'support-chat', prompt_name: 'rag-answer', prompt_version: '3' })[0]?.value).toBe(1);
    const [s] = (await langfuse.waitForScores((x) => x.some((y) => y.name === 'user_feedback' && y.traceId === traceId))).filter((y) => y.name === 'user_feedback');
    expect(s).toMatchObject({ value: 0, traceId, comment: 'wrong, mail me at [EMAIL]' });
    // The evaluation span joins the finished trace, under its request span.
    const spans = await waitForSpans(exporter, (x) => x.some((y) => y.name === 'evaluation user_feedback'));
    expect(spans.find((y) => y.name === 'evaluation user_feedback')?.spanContext().traceId).toBe(traceId);
    // A call score after the request points at the trace's last LLM call.
    const call = score({ name: 'relevance', value: 0.9, source: 'judge', traceId, target: 'call' }) as ScoreRecord;
    const llm = spans.find((y) => y.name === 'chat gpt-4o-mini' && y.spanContext().traceId === traceId);
    expect(call.spanId).toBe(llm?.spanContext().spanId);
  });

  test('the index is bounded: a trace pushed out keeps its score but not its prompt version', async () => {
    const first = await chat(app.url, 'one');
    for (const q of ['two', 'three', 'four']) await chat(app.url, q);
    const result = score({ name: 'late', value: 1, traceId: first }) as ScoreRecord;
    expect(result.traceId).toBe(first);
    expect(result.promptVersion).toBeUndefined();
    expect(app.mw.llmscope.scores.recent.size).toBe(3);
  });

  test('bad scores are dropped with a reason, never thrown; out-of-range numbers stay out of the histogram', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    expect(score({ name: '', value: 1 })).toBe('`name` must be a string of 1 to 64 characters');
    expect(score({ name: 'x', value: Number.NaN })).toMatch(/^`value` must be a finite number/);
    expect(score({ name: 'x', value: 1, traceId: 'not-a-trace' })).toMatch(/^`traceId` must be 32 lower-case hex/);
    expect(score({ name: 'x', value: 1, source: 'robot' as never })).toBe('`source` must be one of human, judge, code');
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('score() ignored'))).toHaveLength(1);
    warn.mockRestore();
    expect(seen).toEqual([]);
    score({ name: 'stars', value: 4 });
    const m = await metrics(app);
    expect(find(m, 'llmscope_quality_scores_out_of_range_total', { name: 'stars' })[0]?.value).toBe(1);
    expect(find(m, 'llmscope_quality_score_count', { name: 'stars' })).toEqual([]);
  });
});

describe('score() with Langfuse down', () => {
  test('scores are dropped and counted; requests and the other sinks are unaffected', async () => {
    const down = await new LangfuseServer({ mode: 'fail' }).start();
    const app = await ragApp({ exporters: { langfuse: { publicKey: down.publicKey, secretKey: down.secretKey, baseUrl: down.url }, queue: { scheduledDelayMs: 20 } } });
    try {
      const traceId = await chat(app.url, 'q');
      for (let i = 0; i < 5; i++) score({ name: 'relevance', value: 0.5, traceId });
      await app.mw.llmscope.shutdown();
      const m = await metrics(app);
      expect(find(m, 'llmscope_telemetry_dropped_total', { exporter: 'langfuse_scores' })[0]?.value).toBe(5);
      expect(find(m, 'llmscope_quality_score_count', { name: 'relevance' })[0]?.value).toBe(5);
    } finally {
      await app.close();
      await down.close();
    }
  });
});
