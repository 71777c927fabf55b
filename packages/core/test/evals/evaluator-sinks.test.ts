/**
 * An evaluator's scores reach every score sink like `score()`'s: the trace (an evaluation span
 * under the evaluated LLM span), Langfuse (linked to the trace and the call's observation), the
 * log line; and with tracing off they still reach the metrics with the call's prompt version.
 */
import { LangfuseServer, find, memoryExporter, memoryLogger, parseMetrics, waitForSpans } from '@llmscope/testkit';
import { retrievalAttributes, setFeature, setPromptVersion, step, traceLLM, type Evaluator, type RetrievedDocument } from '../../src';
import { completion, ragApp } from '../exporters/exporter-app';

const exporter = memoryExporter();

const graded: Evaluator = { name: 'grader', evaluate: ({ record }) => ({ name: 'relevance', value: record.model === 'gpt-4o-mini' ? 0.7 : 0, comment: 'ok' }) };

test('scores of an evaluator reach the trace, Langfuse and the log, on the evaluated call', async () => {
  const langfuse = await new LangfuseServer().start();
  const log = memoryLogger();
  const app = await ragApp({
    exporters: { langfuse: { publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: langfuse.url }, queue: { scheduledDelayMs: 50 } },
    logging: { logger: log.logger },
    evaluations: { evaluators: [graded] },
  });
  try {
    const res = await fetch(`${app.url}/chat/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":"q"}' });
    await res.arrayBuffer();
    const traceId = res.headers.get('x-trace-id') ?? '';
    await app.mw.llmscope.evaluations!.idle();

    const spans = await waitForSpans(exporter, (x) => x.some((s) => s.name === 'evaluation relevance' && s.spanContext().traceId === traceId));
    const llm = spans.find((s) => s.name === 'chat gpt-4o-mini' && s.spanContext().traceId === traceId);
    const evaluation = spans.find((s) => s.name === 'evaluation relevance');
    expect(evaluation?.parentSpanContext?.spanId).toBe(llm?.spanContext().spanId);
    expect(evaluation?.events[0]?.attributes).toMatchObject({ 'gen_ai.evaluation.name': 'relevance', 'gen_ai.evaluation.score.value': 0.7 });

    const [s] = await langfuse.waitForScores((x) => x.some((y) => y.traceId === traceId));
    expect(s).toMatchObject({ name: 'relevance', value: 0.7, traceId, observationId: llm?.spanContext().spanId, comment: 'ok', metadata: { source: 'code', evaluator: 'grader' } });
    expect(log.lines.filter((l) => l.event === 'score' && l.trace_id === traceId).map((l) => l.name)).toEqual(['relevance']);
  } finally {
    await app.mw.llmscope.shutdown(2000);
    await app.close();
    await langfuse.close();
  }
});

test('with tracing off, evaluator scores still carry the call\'s prompt version and feature', async () => {
  const app = await ragApp({ tracing: false, evaluations: { evaluators: [graded] } }, (express) => {
    express.post('/plain', async (_req, res) => {
      setFeature('search');
      setPromptVersion('ranker', '7');
      res.json(await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('x')));
    });
  });
  try {
    await (await fetch(`${app.url}/plain`, { method: 'POST' })).arrayBuffer();
    await app.mw.llmscope.evaluations!.idle();
    const m = parseMetrics(await app.mw.llmscope.registry!.metrics());
    expect(find(m, 'llmscope_quality_score_sum', { name: 'relevance', evaluator: 'grader', feature: 'search', prompt_name: 'ranker', prompt_version: '7' })[0]?.value).toBe(0.7);
  } finally {
    await app.mw.llmscope.shutdown(1000);
    await app.close();
  }
});

test('with tracing off, retrieval steps still keep their documents for evaluators (content capture on)', async () => {
  const seen: (readonly RetrievedDocument[])[] = [];
  const app = await ragApp({ tracing: false, llm: { captureContent: true }, evaluations: { evaluators: [{ name: 'docs', evaluate: ({ documents }) => void seen.push(documents) }] } }, (express) => {
    express.post('/docs', async (_req, res) => {
      await step('vector_search', () => [{ id: 'a', content: 'alpha' }], retrievalAttributes({}));
      await step('rerank', async () => [{ id: 'b', text: 'beta' }], retrievalAttributes({}));
      await step('not_retrieval', async () => [{ id: 'c', text: 'gamma' }]);
      res.json(await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('x')));
    });
  });
  try {
    await (await fetch(`${app.url}/docs`, { method: 'POST' })).arrayBuffer();
    await app.mw.llmscope.evaluations!.idle();
    expect(seen).toEqual([[{ id: 'a', text: 'alpha' }, { id: 'b', text: 'beta' }]]);
  } finally {
    await app.mw.llmscope.shutdown(1000);
    await app.close();
  }
});
