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
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

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
    const all = await seen(factory, where);
    for (const s of all) {
      expect(s.fastReq).toBe(!PER_OBJECT_MAPS);
      expect(s.fastRes).toBe(!PER_OBJECT_MAPS);
      expect(s.links).toBe(true);
      expect(s.prototypes).toBe(true);
      expect(s.localsProto).toBeNull();
      expect(s.local).toBe('kept');
      expect(s.keysOfLocals).toEqual(['fromMiddleware']);
    }
    expect(all.map((s) => s.params)).toEqual([{ id: '0' }, { id: '1' }, { id: '2' }]);
  });

  it('without llmscope they keep fast properties (so it is the middleware that changes them)', async () => {
    for (const s of await seen(factory, 'none')) {
      expect(s.fastReq).toBe(true);
      expect(s.fastRes).toBe(true);
    }
  });
});

it('PER_OBJECT_MAPS says what this V8 does: objects changed in prototype, then added to, get a map each', () => {
  class Message {
    a = 1;
  }
  const proto = Object.create(Message.prototype) as object;
  const [x, y] = [new Message(), new Message()].map((m) => {
    Object.setPrototypeOf(m, proto);
    (m as unknown as { added: number }).added = 2;
    return m;
  }) as [Message, Message];
  expect(haveSameMap(x, y)).toBe(!PER_OBJECT_MAPS);
});

it('res.locals is there before Express changes the prototype (so Express does not add it after), on V8 before 13', async () => {
  // Express sets res.locals after the change when it is missing; an accessor on the app's
  // response prototype sees that assignment.
  const app = express();
  let assigned = 0;
  Object.defineProperty(app.response, 'locals', {
    configurable: true,
    get: () => undefined,
    set(this: object, value: unknown) {
      assigned++;
      Object.defineProperty(this, 'locals', { value, writable: true, configurable: true, enumerable: true });
    },
  });
  app.use(llmscope({ tracing: false }));
  app.get('/', (_req, res) => {
    res.json({ locals: Object.getPrototypeOf(res.locals) === null });
  });
  const url = await serve(app);
  // The first request installs the preset (the middleware patches on its first request).
  await request(url).get('/').expect(200, { locals: true });
  assigned = 0;
  for (let i = 0; i < 3; i++) await request(url).get('/').expect(200, { locals: true });
  expect(assigned).toBe(PER_OBJECT_MAPS ? 0 : 3);
});
