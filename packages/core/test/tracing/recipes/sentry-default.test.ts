/**
 * Recipe (docs/tracing.md): `Sentry.init()` with its default `enableOpenTelemetrySetup: false`
 * registers no tracer provider, so llmscope registers its own: traces go to llmscope's OTLP
 * exporter and Sentry's events (reported through the app's client) carry the same trace id.
 */
import * as Sentry from '@sentry/node';
import { OtlpReceiver, SentryServer } from '@llmscope/testkit';
import { ragApp } from '../../exporters/exporter-app';

test('Sentry.init() (no OpenTelemetry set-up) then llmscope: OTLP gets the trace, the Sentry event links to it, no warning', async () => {
  const sentry = await new SentryServer().start();
  const receiver = await new OtlpReceiver().start();
  // --- the recipe ---
  Sentry.init({ dsn: sentry.dsn, defaultIntegrations: false, enableRuntimeChannelInjection: false });
  // ---
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const app = await ragApp({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl }, sentry: {} } });
  const warnings = warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes('llmscope'));
  warn.mockRestore();
  try {
    const res = await fetch(`${app.url}/boom`, { headers: { 'x-user-id': 'u-1' } });
    expect(res.status).toBe(500);
    const traceId = res.headers.get('x-trace-id');
    const [event] = await sentry.waitForEvents((e) => e.length === 1);
    expect(event?.contexts?.trace?.trace_id).toBe(traceId);
    await app.mw.llmscope.shutdown();
    expect(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name)).toEqual(['GET /boom']);
    expect(warnings).toEqual([]);
  } finally {
    await app.close();
    await Sentry.close(1000);
    await receiver.close();
    await sentry.close();
  }
});
