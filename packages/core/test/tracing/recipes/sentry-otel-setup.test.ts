/**
 * `Sentry.init({ enableOpenTelemetrySetup: true })` makes Sentry's own tracer provider global: it
 * takes no span processors, so llmscope's exporters cannot be fed. llmscope says so at start-up
 * (docs/tracing.md: keep Sentry's default and let llmscope own the provider).
 */
import * as Sentry from '@sentry/node';
import { OtlpReceiver, SentryServer } from '@llmscope/testkit';
import { ragApp } from '../../exporters/exporter-app';

test('Sentry owning the OpenTelemetry provider: one llmscope warning with what gets no spans; requests unaffected', async () => {
  const sentry = await new SentryServer().start();
  const receiver = await new OtlpReceiver().start();
  Sentry.init({ dsn: sentry.dsn, tracesSampleRate: 1, enableOpenTelemetrySetup: true, defaultIntegrations: false, enableRuntimeChannelInjection: false });
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const app = await ragApp({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
  const warnings = warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes('llmscope'));
  warn.mockRestore();
  try {
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the OTLP exporter get no spans');
    expect((await fetch(`${app.url}/ping`)).status).toBe(200);
  } finally {
    await app.mw.llmscope.shutdown();
    await app.close();
    await Sentry.close(1000);
    await receiver.close();
    await sentry.close();
  }
});
