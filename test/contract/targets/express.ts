import express from 'express';
import { llmscope } from '@llmscope/express';
import { listen } from '@llmscope/testkit';
import { baggageHandler, boomHandler, chatHandler, meHandler, plainHandler, slowHandler, sseFrames, taggedHandler, userHandler } from '../scenario';
import type { ContractTarget } from '../target';
import { installedVersion } from '../../compat/installed';

/**
 * The scenario app on an Express module: `express` (5) here, `express4` (npm:express@^4) and
 * `express417` (npm:express@4.17.0, the floor of the peer range), typed with Express 5's types,
 * in targets/express4.ts. The same app and adapter on every version; `pkg` is the installed name.
 */
export function expressTargetOn(name: string, express: Express, pkg: string): ContractTarget {
  return {
    name,
    framework: () => ({ name: 'Express', version: installedVersion(pkg) }),
    start: (options) => startOn(express, options),
  };
}

type Express = typeof import('express');

async function startOn(express: Express, options: Parameters<ContractTarget['start']>[0]): ReturnType<ContractTarget['start']> {
  const app = express();
  app.use(llmscope(options));
  app.use(express.json());
  app.get('/users/:id', (req, res) => {
    res.json(userHandler(req.params.id as string));
  });
  const v1 = express.Router();
  v1.get('/items/:id', (req, res) => {
    res.json(userHandler(req.params.id as string));
  });
  const api = express.Router();
  api.use('/v1', v1);
  app.use('/api', api);
  app.get('/boom', () => boomHandler());
  app.get('/tagged', async (_req, res) => {
    res.json(await taggedHandler());
  });
  app.post('/chat', async (req, res) => {
    res.json(await chatHandler(String(req.body?.question)));
  });
  app.get('/me', (_req, res) => {
    res.json(meHandler());
  });
  app.get('/plain', async (_req, res) => {
    res.json(await plainHandler());
  });
  app.get('/slow', async (_req, res) => {
    res.json(await slowHandler());
  });
  app.get('/stream', async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for await (const frame of sseFrames()) res.write(frame);
    res.end();
  });
  app.get('/baggage', (_req, res) => {
    res.json(baggageHandler());
  });
  return listen(app);
}

export const expressTarget = expressTargetOn('express', express, 'express');
