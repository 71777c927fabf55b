/**
 * Express with the OpenTelemetry auto-instrumentation (instrumentation-http +
 * instrumentation-express), 100% sampled, batch-exported to the same local OTLP sink as
 * llmscope's full configuration. Instrumentations must load before express, hence require().
 */
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { otlpUrl, serve } from '../harness';

const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl() }))] });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express = require('express') as typeof import('express');
const app = express();
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, name: 'Ada' });
});
serve(() => new Promise((resolve) => {
  const server = app.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
}));
