import express from 'express';
import { llmscope, getPrompt, traceLLM, type LlmscopeMiddleware } from '@llmscope/express';
import { find, listen, memoryLogger, OtlpReceiver, parseMetrics, type Listening } from '@llmscope/testkit';

// getPrompt() inside real requests (Express adapter): the experiment's variant reaches the
// metrics, the exported spans (OTLP), the span event of the assignment and the log line.

let receiver: OtlpReceiver;
let app: Listening;
let mw: LlmscopeMiddleware;
const log = memoryLogger();

beforeAll(async () => {
  receiver = await new OtlpReceiver().start();
  const server = express();
  mw = llmscope({
    exporters: { otlp: { url: receiver.tracesUrl } },
    sampling: false,
    logging: { logger: log.logger },
    prompts: {
      local: [
        { name: 'rag-answer', version: 'v3', prompt: 'Answer {{question}}', labels: ['production'], config: { model: 'gpt-4o-mini' } },
        { name: 'rag-answer', version: 'v4', prompt: 'Answer briefly: {{question}}', config: { model: 'gpt-4o-mini' } },
      ],
      experiments: { 'rag-answer': { variants: { v3: 50, v4: 50 } } },
    },
  });
  server.use(mw);
  server.get('/answer', async (req, res) => {
    const prompt = await getPrompt('rag-answer');
    const text = prompt.type === 'text' ? prompt.compile({ question: String(req.query.q) }) : '';
    await traceLLM({ model: String(prompt.config.model), provider: 'openai' }, async (call) => {
      call.setUsage({ inputTokens: 100, outputTokens: 20 });
      return text;
    });
    res.json({ version: prompt.version, text });
  });
  app = await listen(server);
});

afterAll(async () => {
  await mw.llmscope.shutdown();
  await app.close();
  await receiver.close();
});

test('each user gets the experiment\'s variant; metrics, spans, the assignment event and the log line carry it', async () => {
  const experiment = mw.llmscope.prompts.experiment('rag-answer');
  const users = Array.from({ length: 12 }, (_, i) => `user-${i}`);
  const traces = new Map<string, { user: string; version: string }>();
  for (const user of users) {
    const res = await fetch(`${app.url}/answer?q=why`, { headers: { 'x-user-id': user } });
    const body = (await res.json()) as { version: string; text: string };
    expect(body.version).toBe(experiment?.assign(user));
    expect(body.text).toBe(body.version === 'v3' ? 'Answer why' : 'Answer briefly: why');
    traces.set(res.headers.get('x-trace-id') as string, { user, version: body.version });
  }
  const perVersion = { v3: 0, v4: 0 };
  for (const { version } of traces.values()) perVersion[version as 'v3' | 'v4']++;
  expect(perVersion.v3).toBeGreaterThan(0);
  expect(perVersion.v4).toBeGreaterThan(0);

  const samples = parseMetrics(await (mw.llmscope.registry as NonNullable<typeof mw.llmscope.registry>).metrics());
  for (const version of ['v3', 'v4'] as const) {
    const cost = find(samples, 'llmscope_llm_cost_usd_total', { prompt_name: 'rag-answer', prompt_version: version })[0]?.value ?? 0;
    const single = find(samples, 'llmscope_llm_cost_usd_total', { prompt_name: 'rag-answer' }).reduce((a, s) => a + s.value, 0) / users.length;
    expect(cost).toBeCloseTo(single * perVersion[version], 12);
    expect(find(samples, 'llmscope_prompt_assignments_total', { prompt_name: 'rag-answer', prompt_version: version, reason: 'split' })[0]?.value).toBe(perVersion[version]);
    expect(find(samples, 'llmscope_prompt_experiment_weight', { prompt_name: 'rag-answer', prompt_version: version })[0]?.value).toBe(0.5);
  }

  await mw.llmscope.shutdown();
  for (const [traceId, { user, version }] of traces) {
    const spans = receiver.trace(traceId);
    const llm = spans.find((s) => s.name === 'chat gpt-4o-mini');
    const request = spans.find((s) => s.name === 'GET /answer');
    expect(llm?.attributes).toMatchObject({ 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': version, 'llmscope.prompt.experiment': 'rag-answer' });
    expect(request?.attributes).toMatchObject({ 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': version });
    expect(request?.events.find((e) => e.name === 'feature_flag.evaluation')?.attributes).toEqual({
      'feature_flag.key': 'rag-answer', 'feature_flag.provider.name': 'llmscope', 'feature_flag.result.variant': version,
      'feature_flag.result.reason': 'split', 'feature_flag.context.id': user,
    });
    const line = log.lines.find((l) => l.event === 'llm_call' && l.trace_id === traceId);
    expect(line).toMatchObject({ prompt_name: 'rag-answer', prompt_version: version, prompt_experiment: 'rag-answer' });
  }
});
