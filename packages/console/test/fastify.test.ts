import Fastify from 'fastify';
import { llmscope, traceLLM } from '@llmscope/fastify';
import { find, parseMetrics } from '@llmscope/testkit';
import { llmscopeConsole, SECURITY_HEADERS, type LlmscopeConsole } from '../src';

/**
 * The console on Fastify: its routes are added to the instance after the plugin registered, so
 * Fastify has no route for them; the plugin's request hook serves them before the 404 handler,
 * as the Node adapters' `serveOwnRoute` does. Not app traffic.
 */
describe('the console on Fastify', () => {
  const app = Fastify();
  let url: string;
  let console: LlmscopeConsole;

  beforeAll(async () => {
    await app.register(llmscope, { tracing: { printTraces: false } });
    app.get('/hello/:name', async () => {
      await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async (call) => {
        call.setUsage({ inputTokens: 100, outputTokens: 10 });
        return 'hi';
      });
      return { ok: true };
    });
    console = llmscopeConsole(app.llmscope);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    console.close();
    await app.close();
  });

  test('the page and the API answer on the app\'s port; the request is listed with its route; console requests are not app traffic', async () => {
    expect((await fetch(`${url}/hello/ann`)).status).toBe(200);
    const page = await fetch(`${url}/llmscope`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(SECURITY_HEADERS['content-security-policy']);
    let requests: { route: string; status: number; llmCalls: number }[] = [];
    // Up to 10 s and more: the record comes after the response, late on a loaded CI machine.
    for (let i = 0; i < 400 && requests.length === 0; i++) {
      requests = ((await (await fetch(`${url}/llmscope/api/requests`)).json()) as { requests: typeof requests }).requests;
      if (requests.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(requests).toEqual([expect.objectContaining({ route: '/hello/:name', status: 200, llmCalls: 1 })]);
    expect((await fetch(`${url}/llmscope/api/requests?limit=x`)).status).toBe(400);
    // App routes still answer, and unknown paths still reach Fastify's 404 handler.
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const metrics = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect(find(metrics, 'http_server_requests_total').map((s) => s.labels.route).sort()).toEqual(['/hello/:name', 'unmatched']);
  });
});
