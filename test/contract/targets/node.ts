import type { IncomingMessage, ServerResponse } from 'node:http';
import { setRoute, withLlmscope } from '@llmscope/node';
import { listen } from '@llmscope/testkit';
import { baggageHandler, boomHandler, chatHandler, meHandler, plainHandler, slowHandler, sseFrames, taggedHandler, userHandler } from '../scenario';
import type { ContractTarget } from '../target';

/** One route of the tiny router below: a template, its pattern (compiled once) and a handler. */
interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, params: string[]): unknown;
}

function route(method: string, template: string, handle: Route['handle']): Route {
  return { method, template, pattern: new RegExp('^' + template.replace(/:[^/]+/g, '([^/]+)') + '$'), handle };
}

function json(res: ServerResponse, body: unknown): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

// `for await` keeps the request context: the body's chunks arrive in the socket's callbacks,
// but the function resumes in its own context after each await.
async function readJson(req: IncomingMessage): Promise<{ question?: unknown }> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text === '' ? {} : JSON.parse(text);
}

const ROUTES: Route[] = [
  route('GET', '/users/:id', (_req, res, [id]) => json(res, userHandler(id as string))),
  route('GET', '/api/v1/items/:id', (_req, res, [id]) => json(res, userHandler(id as string))),
  route('GET', '/boom', () => boomHandler()),
  route('GET', '/tagged', async (_req, res) => json(res, await taggedHandler())),
  route('POST', '/chat', async (req, res) => json(res, await chatHandler(String((await readJson(req)).question)))),
  route('GET', '/me', (_req, res) => json(res, meHandler())),
  route('GET', '/plain', async (_req, res) => json(res, await plainHandler())),
  route('GET', '/slow', async (_req, res) => json(res, await slowHandler())),
  route('GET', '/stream', async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for await (const frame of sseFrames()) res.write(frame);
    res.end();
  }),
  route('GET', '/baggage', (_req, res) => json(res, baggageHandler())),
];

/** The app: match a route, name it with setRoute, run it; 404 (unmatched) otherwise. */
function app(req: IncomingMessage, res: ServerResponse): unknown {
  const path = (req.url ?? '/').split('?')[0] as string;
  for (const r of ROUTES) {
    const m = req.method === r.method ? r.pattern.exec(path) : null;
    if (m === null) continue;
    setRoute(r.template);
    return r.handle(req, res, m.slice(1));
  }
  res.statusCode = 404;
  res.end('not found\n');
  return undefined;
}

export const nodeTarget: ContractTarget = {
  name: 'node',
  framework: () => ({ name: 'node:http', version: process.versions.node }),
  async start(options) {
    // What an app writes as http.createServer(withLlmscope(app, options)); listen() creates the server.
    return listen(withLlmscope(app, options));
  },
};
