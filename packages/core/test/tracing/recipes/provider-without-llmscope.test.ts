/**
 * An app that registered its own provider and did not add `llmscopeSpanProcessor`: llmscope's
 * exporters would get nothing. It says so once, at start-up, with the line to add; metrics and
 * requests are unaffected.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { trace } from '@opentelemetry/api';
import { OtlpReceiver, find, parseMetrics } from '@llmscope/testkit';
import { Llmscope } from '../../../src';
import { chat, ragApp } from '../../exporters/exporter-app';

test('a provider without llmscopeSpanProcessor: one warning naming what gets nothing and the line to add', async () => {
  const appExporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(appExporter)] }));
  const receiver = await new OtlpReceiver().start();
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const app = await ragApp({ exporters: { otlp: { url: receiver.tracesUrl } }, tracing: { printTraces: true } });
  const second = new Llmscope({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
  const warnings = warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes('llmscope'));
  warn.mockRestore();
  try {
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('your app registered its own OpenTelemetry tracer provider');
    expect(warnings[0]).toContain('the OTLP exporter, the trace printer get no spans');
    expect(warnings[0]).toContain("import { llmscopeSpanProcessor } from '@llmscope/core';");
    // The probe span reached nobody's exporter.
    await chat(app.url, 'hello');
    expect(appExporter.getFinishedSpans().map((s) => s.name)).not.toContain('llmscope.probe');
    expect(appExporter.getFinishedSpans().map((s) => s.name)).toContain('POST /chat/:id');
    const s = parseMetrics(await app.mw.llmscope.registry!.metrics());
    expect(find(s, 'http_server_requests_total', { route: '/chat/:id', status_code: '200' })[0]?.value).toBe(1);
    expect(find(s, 'gen_ai_client_operation_duration_seconds_count', { model: 'gpt-4o-mini' })[0]?.value).toBe(1);
  } finally {
    await second.shutdown();
    await app.mw.llmscope.shutdown();
    await app.close();
    await receiver.close();
  }
});
