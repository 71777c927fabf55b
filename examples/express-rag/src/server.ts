import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { printBanner } from '../../shared/src';

const port = Number(process.env.PORT ?? 3000);
const app = createApp();
const server = app.listen(port, () => {
  // With PORT=0 the system picks the port; show the real one.
  printBanner({ framework: 'Express', port: (server.address() as AddressInfo).port, console: app.console });
});

// Ctrl+C or a container stop: finish the requests in flight, flush the spans (when an exporter
// is configured), then exit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.console?.close();
    server.close(() => void app.llmscope.shutdown().then(() => process.exit(0)));
    server.closeIdleConnections();
  });
}
