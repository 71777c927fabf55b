// The Express target built with Express 4 (`express4` is `npm:express@^4`): same app, same adapter.
import express from 'express4';
import { llmscope } from '@llmscope/express';
import { listen } from '@llmscope/testkit';
import { baggageHandler, boomHandler, chatHandler, meHandler, plainHandler, slowHandler, sseFrames, taggedHandler, userHandler } from '../scenario';
import type { ContractTarget } from '../target';

export const express4Target: ContractTarget = {
  name: 'express4',
  async start(options) {
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
  },
};
