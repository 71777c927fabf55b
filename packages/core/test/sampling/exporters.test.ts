import { LangfuseServer, memoryLogger } from '@llmscope/testkit';
import { traceLLM } from '@llmscope/express';
import { TreePrinterProcessor } from '../../src';
import { chat, completion, ragApp } from '../exporters/exporter-app';

describe('tail sampling in front of every consumer', () => {
  let server: LangfuseServer;
  beforeEach(async () => {
    server = await new LangfuseServer().start();
  });
  afterEach(async () => {
    await server.close();
  });

  test('Langfuse and span processors (the printer) get kept traces only; request and LLM log lines and metrics get every request', async () => {
    const { logger, lines } = memoryLogger();
    const printed: string[] = [];
    const app = await ragApp({
      exporters: { langfuse: { publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.url } },
      logging: { logger },
      tracing: { spanProcessors: [new TreePrinterProcessor((text) => printed.push(text))] },
      sampling: { tail: { baseRate: 0, routeLatency: false } },
    }, (express) => {
      // An LLM call, then a failure: an error trace with an LLM span in it.
      express.post('/chat-fail', async () => {
        await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('rejected answer'));
        throw new Error('answer failed the policy check');
      });
    });
    const ok = [await chat(app.url, 'a'), await chat(app.url, 'b'), await chat(app.url, 'c')];
    const res = await fetch(`${app.url}/chat-fail`, { method: 'POST' });
    await res.arrayBuffer();
    const failed = res.headers.get('x-trace-id') ?? '';
    expect(res.status).toBe(500);
    const scope = app.mw.llmscope;
    const metrics = await scope.registry!.metrics();
    await scope.shutdown();
    await app.close();

    expect(new Set(server.spans.map((s) => s.traceId))).toEqual(new Set([failed]));
    expect(server.spans.map((s) => s.name).sort()).toEqual(['POST /chat-fail', 'chat gpt-4o-mini']);
    // LLM log lines come from the LLM-call records, like metrics: every call, sampled or not.
    const llmLines = lines.filter((l) => l.event === 'llm_call');
    expect(llmLines.map((l) => l.trace_id)).toEqual([...ok, failed]);
    const requestLines = lines.filter((l) => l.event === 'http_request');
    expect(requestLines.map((l) => l.trace_id)).toEqual([...ok, failed]);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain(`trace ${failed}`);
    // Metrics: all four requests and LLM calls.
    expect(metrics).toMatch(/http_server_requests_total\{method="POST",route="\/chat\/:id",status_code="200"\} 3/);
    expect(metrics).toMatch(/gen_ai_client_operation_duration_seconds_count\{operation="chat",provider="openai",model="gpt-4o-mini",outcome="ok"\} 4/);
  }, 30000);
});
