import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { printBanner } from '../../shared/src';

const port = Number(process.env.PORT ?? 3000);
const server = createApp().listen(port, () => {
  // With PORT=0 the system picks the port; show the real one.
  printBanner({ framework: 'Express', port: (server.address() as AddressInfo).port });
});

// Ctrl+C or a container stop: finish the requests in flight, then exit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
