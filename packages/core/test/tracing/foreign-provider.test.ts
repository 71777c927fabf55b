/**
 * An app that registered its own OpenTelemetry provider keeps it: llmscope uses it and
 * replaces nothing (jest gives this file its own global, so no llmscope provider exists yet).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Llmscope, llmscopeSpanProcessor, step } from '../../src';

test('llmscope joins an app-registered provider and replaces nothing', () => {
  const appExporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(appExporter), llmscopeSpanProcessor] });
  trace.setGlobalTracerProvider(provider);
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const propagator = new W3CTraceContextPropagator();
  propagation.setGlobalPropagator(propagator);
  const ours = new InMemorySpanExporter();

  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const scope = new Llmscope({ metrics: false, tracing: { spanProcessors: [new SimpleSpanProcessor(ours)] } });
  const warnings = emitWarning.mock.calls.map((c) => String(c[0]));
  emitWarning.mockRestore();

  expect((trace.getTracerProvider() as unknown as { getDelegate(): unknown }).getDelegate()).toBe(provider);
  const ctx = scope.startRequest('GET', '/x', {}, undefined);
  scope.run(ctx, () => step('inner', () => undefined));
  scope.setRoute(ctx, '/x');
  scope.finishRequest(ctx, 200);
  // The app's exporter sees llmscope's spans, and so do llmscope's processors through the fan-out.
  expect(appExporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['GET /x', 'inner']);
  expect(ours.getFinishedSpans()).toHaveLength(2);
  // llmscopeSpanProcessor is on the app's provider: nothing to warn about.
  expect(warnings.filter((w) => w.includes('llmscope'))).toEqual([]);
});
