import { LangfuseServer } from '@llmscope/testkit';
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
