import { setFlagsFromString } from 'node:v8';
import express, { type Request, type Response } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { llmscope } from '../src';
import { PER_OBJECT_MAPS } from '../src/prototype-change';
import { closeServed, serve } from './serve';

// On V8 before 13 (Node 20, 22) the middleware puts each request and response in dictionary
// mode once Express has changed their prototypes, and gives responses their `res.locals` before
// the change (src/prototype-change.ts): what the app sees must not change.

setFlagsFromString('--allow-natives-syntax');
// V8's intrinsic, compiled after the flag is set (it is read when the function is parsed).
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

afterAll(closeServed);

/** What a route sees of its request and response. */
interface Seen {
  fastReq: boolean;
  fastRes: boolean;
  links: boolean;
  prototypes: boolean;
  localsProto: unknown;
  local: unknown;
  params: unknown;
  keysOfLocals: string[];
}

type Factory = typeof express;

function build(factory: Factory, where: 'first' | 'after-middleware' | 'none'): express.Express {
  const app = factory();
  if (where === 'after-middleware') app.use((_req, _res, next) => next());
  if (where !== 'none') app.use(llmscope({ tracing: false }));
  app.use((_req, res, next) => {
    (res.locals as Record<string, unknown>).fromMiddleware = 'kept';
    next();
  });
  app.get('/users/:id', (req: Request, res: Response) => {
    const seen: Seen = {
      fastReq: hasFastProperties(req),
      fastRes: hasFastProperties(res),
      links: req.res === res && res.req === req,
      prototypes: Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response,
      localsProto: Object.getPrototypeOf(res.locals),
      local: res.locals.fromMiddleware,
      params: req.params,
      keysOfLocals: Object.keys(res.locals),
    };
    res.json(seen);
  });
  return app;
}

async function seen(factory: Factory, where: 'first' | 'after-middleware' | 'none'): Promise<Seen[]> {
  const url = await serve(build(factory, where));
  const out: Seen[] = [];
  // The first request patches (router entry, res.locals preset); later ones run patched.
  for (let i = 0; i < 3; i++) out.push((await request(url).get(`/users/${i}`).expect(200)).body as Seen);
  return out;
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as Factory],
])('%s', (_name, factory) => {
  it.each(['first', 'after-middleware'] as const)('llmscope %s: the request and response are in dictionary mode on V8 before 13, and otherwise what Express made them', async (where) => {
    for (const s of await seen(factory, where)) {
      expect(s.fastReq).toBe(!PER_OBJECT_MAPS);
      expect(s.fastRes).toBe(!PER_OBJECT_MAPS);
      expect(s.links).toBe(true);
      expect(s.prototypes).toBe(true);
      expect(s.localsProto).toBeNull();
      expect(s.local).toBe('kept');
      expect(s.keysOfLocals).toEqual(['fromMiddleware']);
    }
    const all = await seen(factory, where);
    expect(all.map((s) => s.params)).toEqual([{ id: '0' }, { id: '1' }, { id: '2' }]);
  });

  it('without llmscope they keep fast properties (so it is the middleware that changes them)', async () => {
    for (const s of await seen(factory, 'none')) {
      expect(s.fastReq).toBe(true);
      expect(s.fastRes).toBe(true);
    }
  });
});

it('PER_OBJECT_MAPS holds for V8 before 13 only', () => {
  expect(PER_OBJECT_MAPS).toBe(Number(process.versions.v8.split('.')[0]) < 13);
});
