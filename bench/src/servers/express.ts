import { createServer } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import express from 'express';
import promBundle from 'express-prom-bundle';
import { createNamespace } from 'cls-hooked';
import { llmscope } from '@llmscope/express';
import { llmscopeConsole } from '@llmscope/console';
import { otlpUrl, serve, spin, variant } from '../harness';
import { appPrototypeServer, listenLocal } from './app-prototypes';

const app = express();
switch (variant()) {
  case 'bare':
    break;
  case 'llmscope-metrics':
    app.use(llmscope({ tracing: false }));
    break;
  case 'llmscope-metrics-console': {
    // The metrics row with the local console mounted and fed (every request into its store). The
    // bench runs with NODE_ENV=production, where the console needs a token to be mounted.
    const mw = llmscope({ tracing: false });
    app.use(mw);
    llmscopeConsole(mw.llmscope, { token: 'bench-console-token-0123456789' });
    break;
  }
  case 'llmscope-full':
    // Every trace exported (tail sampling off), like the OTel peer: the same export volume.
    app.use(llmscope({ exporters: { otlp: { url: otlpUrl() } }, sampling: { tail: false } }));
    break;
  case 'llmscope-defaults':
    // Options left at their defaults: tracing on, tail sampling; exports only when the bench
    // sets OTEL_EXPORTER_OTLP_ENDPOINT (the "defaults + OTLP exporter" row).
    app.use(llmscope());
    break;
  case 'express-prom-bundle':
    app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true, normalizePath: [['^/users/[^/]+$', '/users/#id']] }));
    break;
  case 'als': {
    const als = new AsyncLocalStorage<{ user: string | undefined }>();
    app.use((req, _res, next) => als.run({ user: req.headers['x-user-id'] as string | undefined }, next));
    break;
  }
  case 'spin':
    // Control: a known amount of pure user-mode work per request (docs/performance.md).
    app.use((_req, _res, next) => {
      spin();
      next();
    });
    break;
  case 'cls-hooked': {
    const ns = createNamespace('bench');
    app.use((req, _res, next) => ns.run(() => {
      ns.set('user', req.headers['x-user-id']);
      next();
    }));
    break;
  }
  default:
    throw new Error(`unknown express variant ${variant()}`);
}
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, name: 'Ada' });
});

// As users run it (`app.listen`, which is createServer(app)), or on a server whose requests and
// responses are born with the app's prototypes (app-prototypes.ts).
serve(() => listenLocal(process.env.BENCH_EXPRESS_SERVER === 'app-prototypes' ? appPrototypeServer(app) : createServer(app)));
