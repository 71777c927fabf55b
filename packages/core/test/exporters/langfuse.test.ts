import OpenAI from 'openai';
import { instrumentOpenAI } from '@llmscope/express';
import { LangfuseServer, LlmServer } from '@llmscope/testkit';
import { chat, ragApp } from './exporter-app';

describe('Langfuse exporter (@langfuse/otel)', () => {
  let server: LangfuseServer;
  beforeEach(async () => {
    server = await new LangfuseServer().start();
  });
  afterEach(async () => {
    await server.close();
    for (const key of Object.keys(server.env)) delete process.env[key];
  });

  test('zero code: the whole request trace reaches Langfuse; the LLM span is a generation with usage, cost, prompt, user and session', async () => {
    Object.assign(process.env, server.env);
    const app = await ragApp({ metrics: false });
    const traceId = await chat(app.url, 'What is the refund policy?', 'user-9', 'conv-3');
    await app.mw.llmscope.shutdown();
    await app.close();

    expect(server.unauthorized).toBe(0);
    const spans = server.spans.filter((s) => s.traceId === traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(['POST /chat/:id', 'chat gpt-4o-mini', 'embed_query', 'prompt_construction', 'vector_search']);
    const root = spans.find((s) => s.name === 'POST /chat/:id');
    expect(root?.attributes).toMatchObject({ 'user.id': 'user-9', 'session.id': 'conv-3', 'langfuse.trace.name': 'POST /chat/:id' });
    const generation = spans.find((s) => s.name === 'chat gpt-4o-mini');
    const a = generation?.attributes ?? {};
    expect(a).toMatchObject({
      'langfuse.observation.type': 'generation',
      'langfuse.observation.model.name': 'gpt-4o-mini-2024-07-18',
      'langfuse.observation.prompt.name': 'rag-answer',
      'langfuse.observation.prompt.version': 3,
      'gen_ai.request.model': 'gpt-4o-mini',
      'user.id': 'user-9',
      'session.id': 'conv-3',
    });
    expect(JSON.parse(String(a['langfuse.observation.usage_details']))).toEqual({ input: 120, output: 30, total: 150 });
    expect(JSON.parse(String(a['langfuse.observation.model.parameters']))).toEqual({ temperature: 0.2, max_tokens: 256 });
    const cost = JSON.parse(String(a['langfuse.observation.cost_details'])) as { total: number };
    expect(cost.total).toBeGreaterThan(0);
    expect(cost.total).toBe(a['llmscope.cost.usd']);
    // @langfuse/otel's own processor ran: it marks the request span, the first one exported, as the app root.
    expect(root?.attributes['langfuse.internal.is_app_root']).toBe(true);
    expect(generation?.attributes['langfuse.internal.is_app_root']).toBeUndefined();
  });

  test('a streamed call through the real OpenAI SDK: Langfuse gets its completion start time, model parameters, usage details and cost details in its own fields', async () => {
    const llm = await LlmServer.start();
    try {
      // 1000 input tokens of which 400 from the cache, 200 output of which 50 reasoning; a slow first token.
      llm.enqueue({ firstChunkDelayMs: 150, usage: { input: 1000, output: 200, cacheRead: 400, reasoning: 50 } });
      const openai = instrumentOpenAI(new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL, maxRetries: 0 }));
      const app = await ragApp({
        metrics: false,
        exporters: { langfuse: { publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.url } },
      }, (express) => {
        express.post('/stream', async (_req, res) => {
          const stream = await openai.chat.completions.create({
            model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
            temperature: 0.3, max_tokens: 300, top_p: 0.9,
          });
          let text = '';
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
          res.json({ text });
        });
      });
      const res = await fetch(`${app.url}/stream`, { method: 'POST' });
      expect(res.status).toBe(200);
      await app.mw.llmscope.shutdown();
      await app.close();

      expect(server.unauthorized).toBe(0);
      const generation = server.spans.find((s) => s.name === 'chat gpt-4o-mini');
      const a = generation?.attributes ?? {};
      expect(a['langfuse.observation.type']).toBe('generation');
      // Langfuse's usage types do not overlap: uncached input, cache reads, output without reasoning, reasoning.
      expect(JSON.parse(String(a['langfuse.observation.usage_details']))).toEqual({
        input: 600, input_cached_tokens: 400, output: 150, output_reasoning_tokens: 50, total: 1200,
      });
      expect(JSON.parse(String(a['langfuse.observation.model.parameters']))).toEqual({ temperature: 0.3, max_tokens: 300, top_p: 0.9 });
      const cost = JSON.parse(String(a['langfuse.observation.cost_details'])) as Record<string, number>;
      expect(cost).toEqual({ total: a['llmscope.cost.usd'] });
      expect(cost.total).toBeGreaterThan(0);
      // The completion start time is the span's start plus the time to first chunk (an ISO date, what Langfuse parses).
      const completionStart = String(a['langfuse.observation.completion_start_time']);
      expect(completionStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const startMs = Number(BigInt(generation?.startTimeUnixNano ?? '0') / 1_000_000n);
      const endMs = Number(BigInt(generation?.endTimeUnixNano ?? '0') / 1_000_000n);
      const ttft = Number(a['gen_ai.response.time_to_first_chunk']);
      expect(ttft).toBeGreaterThanOrEqual(0.15);
      expect(Math.abs(Date.parse(completionStart) - (startMs + ttft * 1000))).toBeLessThanOrEqual(1);
      expect(Date.parse(completionStart)).toBeLessThanOrEqual(endMs);
    } finally {
      await llm.close();
    }
  });

  test('options override the environment; a custom filter narrows what is exported', async () => {
    process.env.LANGFUSE_PUBLIC_KEY = 'pk-lf-wrong';
    process.env.LANGFUSE_SECRET_KEY = 'sk-lf-wrong';
    const app = await ragApp({
      metrics: false,
      exporters: { langfuse: { publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.url, environment: 'staging', shouldExportSpan: (span) => span.attributes['gen_ai.operation.name'] !== undefined } },
    });
    await chat(app.url, 'q');
    await app.mw.llmscope.shutdown();
    await app.close();
    expect(server.unauthorized).toBe(0);
    expect(server.spans.map((s) => s.name)).toEqual(['chat gpt-4o-mini']);
    expect(server.spans[0]?.attributes['langfuse.environment']).toBe('staging');
    delete process.env.LANGFUSE_PUBLIC_KEY;
    delete process.env.LANGFUSE_SECRET_KEY;
  });
});
