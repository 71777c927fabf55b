import type express from 'express';
import { z } from 'zod';
import { SentryServer } from '@llmscope/testkit';
import { traceLLM, validateOutput, setPromptVersion, Llmscope, LlmscopeConfigError } from '../../src';
import { ragApp, type RagApp } from './exporter-app';

class ProviderError extends Error {
  override name = 'RateLimitError';
  status = 429;
}

const Answer = z.object({ answer: z.string(), sources: z.array(z.string()).min(1) });

describe('Sentry exporter (@sentry/node)', () => {
  let server: SentryServer;
  let app: RagApp;
  const seen: unknown[] = [];
  const thrown: unknown[] = [];

  function routes(a: express.Express): void {
    a.get('/llm-fail', async (_req, res) => {
      setPromptVersion('rag-answer', '4');
      try {
        await traceLLM({ model: 'gpt-4o', provider: 'openai' }, async () => {
          throw new ProviderError('Rate limit reached for key sk-proj-abcdefghijklmnopqrstuvwx');
        });
      } catch {
        res.status(503).json({ error: 'busy' });
      }
    });
    a.get('/validate', async (_req, res) => {
      const raw = `{"answer": "mail bob@example.com", "sources": [], "pad": "${'x'.repeat(10000)}"}`;
      const result = await validateOutput(Answer, raw, { json: true, name: 'answer' });
      res.status(result.success ? 200 : 502).json({ ok: result.success, issues: result.success ? [] : result.issues });
    });
    a.get('/thrower', () => {
      const error = new TypeError('kaboom for user alice@example.com');
      thrown.push(error);
      throw error;
    });
    // The app's own error handler must see exactly the error it threw.
    a.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      seen.push(error);
      res.status(500).json({ message: (error as Error).message });
    });
  }

  beforeAll(async () => {
    server = await new SentryServer().start();
    process.env.SENTRY_DSN = server.dsn;
    app = await ragApp({ metrics: false }, routes);
  });
  afterAll(async () => {
    delete process.env.SENTRY_DSN;
    await app.mw.llmscope.shutdown();
    await app.close();
    await server.close();
  });

  test('an error that ends a request: event with user, session, route, prompt version and the trace; the app sees its own error unchanged', async () => {
    const res = await fetch(`${app.url}/thrower`, { headers: { 'x-user-id': 'u-1', 'x-session-id': 's-1' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'kaboom for user alice@example.com' });
    expect(seen[0]).toBe(thrown[0]);
    expect((seen[0] as Error).message).toBe('kaboom for user alice@example.com');
    const traceId = res.headers.get('x-trace-id');

    const [event] = await server.waitForEvents((e) => e.some((x) => x.tags?.route === '/thrower'));
    expect(event?.exception?.values?.[0]).toMatchObject({ type: 'TypeError', value: 'kaboom for user [EMAIL]' });
    expect(event?.user).toMatchObject({ id: 'u-1' });
    expect(event?.tags).toMatchObject({ route: '/thrower', 'http.method': 'GET', 'http.status_code': '500', 'session.id': 's-1' });
    expect(event?.contexts?.trace?.trace_id).toBe(traceId);
    expect(event?.contexts?.trace?.span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  test('an LLM provider error: event with provider, model, prompt version, linked to the LLM span; secrets redacted', async () => {
    const res = await fetch(`${app.url}/llm-fail`, { headers: { 'x-user-id': 'u-2' } });
    expect(res.status).toBe(503);
    const traceId = res.headers.get('x-trace-id');
    const events = await server.waitForEvents((e) => e.some((x) => x.tags?.['llmscope.source'] === 'llm_call'));
    const event = events.find((x) => x.tags?.['llmscope.source'] === 'llm_call');
    expect(event?.exception?.values?.[0]).toMatchObject({ type: 'RateLimitError', value: 'Rate limit reached for key [REDACTED]' });
    expect(event?.tags).toMatchObject({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'prompt.name': 'rag-answer', 'prompt.version': '4' });
    expect(event?.user).toMatchObject({ id: 'u-2' });
    expect(event?.contexts?.trace?.trace_id).toBe(traceId);
  });

  test('a validateOutput failure: event with the issues and the raw output attached, clipped and redacted', async () => {
    const res = await fetch(`${app.url}/validate`);
    expect(res.status).toBe(502);
    const events = await server.waitForEvents((e) => e.some((x) => x.tags?.['llmscope.source'] === 'validate_output'));
    const event = events.find((x) => x.tags?.['llmscope.source'] === 'validate_output');
    expect(event?.message).toMatch(/model output failed validation \(answer\)/);
    expect(event?.extra?.issues).toEqual([expect.objectContaining({ path: 'sources' })]);
    const raw = String(event?.extra?.raw_output);
    expect(raw).toContain('[EMAIL]');
    expect(raw).not.toContain('bob@example.com');
    expect(raw.length).toBeLessThan(4100);
    const attachment = server.items.find((i) => i.header.type === 'attachment' && i.header.filename === 'model-output.txt');
    expect(String(attachment?.payload)).toBe(raw);
  });

  test('llmscope registers no global Sentry client and no second OpenTelemetry provider', async () => {
    const Sentry = await import('@sentry/node');
    expect(Sentry.getClient()).toBeUndefined();
    const { trace, ProxyTracerProvider } = await import('@opentelemetry/api');
    const global = trace.getTracerProvider();
    expect(global).toBeInstanceOf(ProxyTracerProvider);
    // Still the provider llmscope registered, not one of Sentry's.
    expect((global as InstanceType<typeof ProxyTracerProvider>).getDelegate().constructor.name).toBe('BasicTracerProvider');
  });
});

describe('Sentry initialised by the app', () => {
  test('llmscope reports through the app\'s client (same DSN, or none given) and never installs its own', async () => {
    const server = await new SentryServer().start();
    const Sentry = await import('@sentry/node');
    const client = new Sentry.NodeClient({ dsn: server.dsn, transport: Sentry.makeNodeTransport, stackParser: Sentry.defaultStackParser, integrations: [], enableRuntimeChannelInjection: false });
    Sentry.setCurrentClient(client);
    client.init();
    const app = await ragApp({ metrics: false, exporters: { sentry: {} } }, (a) => {
      a.get('/fails', () => {
        throw new Error('from the app client');
      });
    });
    try {
      expect((await fetch(`${app.url}/fails`, { headers: { 'x-user-id': 'u-9' } })).status).toBe(500);
      const [event] = await server.waitForEvents((e) => e.length === 1);
      expect(event?.user).toMatchObject({ id: 'u-9' });
      expect(event?.tags).toMatchObject({ route: '/fails' });
      expect(Sentry.getClient()).toBe(client);
    } finally {
      await app.mw.llmscope.shutdown();
      await app.close();
      await client.close(1000);
      Sentry.setCurrentClient(undefined as never);
      await server.close();
    }
  });

  test('what the app\'s client merges into llmscope\'s events (breadcrumbs, the app\'s user) is redacted too', async () => {
    const server = await new SentryServer().start();
    const Sentry = await import('@sentry/node');
    const client = new Sentry.NodeClient({ dsn: server.dsn, transport: Sentry.makeNodeTransport, stackParser: Sentry.defaultStackParser, integrations: [], enableRuntimeChannelInjection: false });
    Sentry.setCurrentClient(client);
    client.init();
    const app = await ragApp({ metrics: false, exporters: { sentry: {} } }, (a) => {
      a.get('/fails', () => {
        throw new Error('from the app client');
      });
    });
    try {
      // The app's own context, on the scopes Sentry merges into every event of its client.
      Sentry.addBreadcrumb({ category: 'http', message: 'GET https://api.example.com/v1?api_key=Zq81kLmN0pQ', data: { authorization: 'Bearer tok_9f8e7d6c5b4a3210fedcba' } });
      Sentry.setUser({ email: 'jane.doe@example.com' });
      expect((await fetch(`${app.url}/fails`, { headers: { 'x-user-id': 'u-9' } })).status).toBe(500);
      const [event] = await server.waitForEvents((e) => e.length === 1);
      const text = JSON.stringify(event);
      expect(text).toContain('api_key=[REDACTED]');
      expect(text).toContain('Bearer [REDACTED]');
      expect(event?.user).toMatchObject({ id: 'u-9', email: '[EMAIL]' });
      for (const raw of ['Zq81kLmN0pQ', 'tok_9f8e7d6c5b4a3210', 'jane.doe']) expect(text).not.toContain(raw);
    } finally {
      Sentry.setUser(null);
      Sentry.getIsolationScope().clearBreadcrumbs();
      await app.mw.llmscope.shutdown();
      await app.close();
      await client.close(1000);
      Sentry.setCurrentClient(undefined as never);
      await server.close();
    }
  });

  test('`exporters.sentry: {}` without a DSN and without Sentry.init() fails at start-up', () => {
    expect(() => new Llmscope({ metrics: false, exporters: { sentry: {} } })).toThrow(LlmscopeConfigError);
  });
});
