import { setFlagsFromString } from 'node:v8';
import express, { type Request, type RequestHandler, type Response } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { llmscope } from '../src';
import { PER_OBJECT_MAPS } from '../src/prototype-change';
import { closeServed, serve } from './serve';

// On V8 before 13 (Node 20, 22) llmscope wraps the outermost app's `handle` so that each request
// and response is in dictionary mode before Express changes their prototypes
// (src/prototype-change.ts): whatever is added after (by Express, the router, middleware before
// llmscope's, sub-apps) then costs no map of its own. What the app sees must not change.

setFlagsFromString('--allow-natives-syntax');
// V8's intrinsic, compiled after the flag is set (it is read when the function is parsed).
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

afterAll(closeServed);

/** What a route sees of its request and response. */
interface Seen {
  /** Whether the request had fast properties in the outermost app's first layer. */
  fastAtFirstLayer: boolean;
  fastReq: boolean;
  fastRes: boolean;
  links: boolean;
  prototypes: boolean;
  localsProto: unknown;
  local: unknown;
  params: unknown;
  keysOfLocals: string[];
  /** The request's and the response's own keys, in order (symbols by their description). */
  keysOfReq: string[];
  keysOfRes: string[];
}

const ownKeys = (o: object): string[] => Reflect.ownKeys(o).map(String);

type Factory = typeof express;
/** Where llmscope's middleware is: first, after another middleware, in a sub-app, nowhere. */
type Where = 'first' | 'after-middleware' | 'in-sub-app' | 'none';

/**
 * A one-route app, `GET {prefix}/users/:id`, that answers what the route saw. With `in-sub-app`
 * llmscope and the route are in an app mounted at `/sub` of the outermost one.
 */
function build(factory: Factory, where: Where): { app: express.Express; prefix: string } {
  const firstLayer = new WeakMap<object, boolean>();
  const record: RequestHandler = (req, _res, next) => {
    firstLayer.set(req, hasFastProperties(req));
    next();
  };
  const outer = factory();
  if (where === 'first') outer.use(llmscope({ tracing: false }), record);
  else outer.use(record);
  if (where === 'after-middleware') outer.use(llmscope({ tracing: false }));
  const inner = where === 'in-sub-app' ? factory() : outer;
  if (where === 'in-sub-app') {
    inner.use(llmscope({ tracing: false }));
    outer.use('/sub', inner);
  }
  inner.use((_req, res, next) => {
    (res.locals as Record<string, unknown>).fromMiddleware = 'kept';
    next();
  });
  inner.get('/users/:id', (req: Request, res: Response) => {
    const seen: Seen = {
      fastAtFirstLayer: firstLayer.get(req) as boolean,
      fastReq: hasFastProperties(req),
      fastRes: hasFastProperties(res),
      links: req.res === res && res.req === req,
      prototypes: Object.getPrototypeOf(req) === inner.request && Object.getPrototypeOf(res) === inner.response,
      localsProto: Object.getPrototypeOf(res.locals),
      local: res.locals.fromMiddleware,
      params: req.params,
      keysOfLocals: Object.keys(res.locals),
      keysOfReq: ownKeys(req),
      keysOfRes: ownKeys(res),
    };
    res.json(seen);
  });
  return { app: outer, prefix: where === 'in-sub-app' ? '/sub' : '' };
}

/** Four requests' views: the first (which prepares the app) and three after it. */
async function seen(factory: Factory, where: Where): Promise<Seen[]> {
  const { app, prefix } = build(factory, where);
  const url = await serve(app);
  const out: Seen[] = [];
  for (let i = 0; i < 4; i++) out.push((await request(url).get(`${prefix}/users/${i}`).expect(200)).body as Seen);
  return out;
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as Factory],
])('%s', (_name, factory) => {
  it.each(['first', 'after-middleware', 'in-sub-app'] as const)('llmscope %s: after the first request, the request and response are in dictionary mode from the first layer on V8 before 13, and otherwise what Express made them', async (where) => {
    const all = await seen(factory, where);
    for (const s of all) {
      expect(s.links).toBe(true);
      expect(s.prototypes).toBe(true);
      expect(s.localsProto).toBeNull();
      expect(s.local).toBe('kept');
      expect(s.keysOfLocals).toEqual(['fromMiddleware']);
    }
    // The middleware prepares the app on its first request; that one entered as before.
    for (const s of all.slice(1)) {
      expect(s.fastAtFirstLayer).toBe(!PER_OBJECT_MAPS);
      expect(s.fastReq).toBe(!PER_OBJECT_MAPS);
      expect(s.fastRes).toBe(!PER_OBJECT_MAPS);
    }
    expect(all.map((s) => s.params)).toEqual([{ id: '0' }, { id: '1' }, { id: '2' }, { id: '3' }]);
    // The same own keys in the same order as without llmscope (none of its own left behind).
    if (where !== 'in-sub-app') {
      const bare = await seen(factory, 'none');
      for (const [i, s] of all.entries()) {
        expect(s.keysOfReq).toEqual(bare[i]?.keysOfReq);
        expect(s.keysOfRes).toEqual(bare[i]?.keysOfRes);
      }
    }
  });

  it('without llmscope they keep fast properties (so it is llmscope that changes them)', async () => {
    for (const s of await seen(factory, 'none')) {
      expect(s.fastAtFirstLayer).toBe(true);
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

it('what the wrapper relies on: a dictionary-mode object changed to the prototype it has keeps its map; to another, it gets one of its own', () => {
  // Two objects as the wrapper leaves them: a symbol added, the prototype changed, the symbol deleted.
  const temp = Symbol('temp');
  const proto = Object.create(null) as object;
  const [x, y] = [{ a: 1 }, { a: 2 }].map((o) => {
    (o as Record<symbol, unknown>)[temp] = undefined;
    Object.setPrototypeOf(o, proto);
    delete (o as Record<symbol, unknown>)[temp];
    return o;
  }) as [object, object];
  expect(hasFastProperties(x)).toBe(false);
  expect(haveSameMap(x, y)).toBe(true);
  // Express's own change, to the same prototype: nothing changes.
  Object.setPrototypeOf(x, proto);
  expect(haveSameMap(x, y)).toBe(true);
  // A sub-app's change, to its own prototype: a map of its own (docs/express.md).
  Object.setPrototypeOf(x, Object.create(proto) as object);
  expect(haveSameMap(x, y)).toBe(false);
});

it('the app is wrapped once, on V8 before 13 only, and Express sets res.locals itself', async () => {
  // Express sets res.locals after the prototype change when it is missing; an accessor on the
  // app's response prototype sees each assignment.
  const app = express();
  // `handle` is not in Express's types.
  const handleOf = (): unknown => (app as unknown as { handle: unknown }).handle;
  const handle = handleOf();
  let assigned = 0;
  Object.defineProperty(app.response, 'locals', {
    configurable: true,
    get: () => undefined,
    set(this: object, value: unknown) {
      assigned++;
      Object.defineProperty(this, 'locals', { value, writable: true, configurable: true, enumerable: true });
    },
  });
  // Two instances (say, two libraries each adding llmscope): one wrapper.
  app.use(llmscope({ tracing: false }), llmscope({ tracing: false, metrics: { path: '/metrics2' } }));
  app.get('/', (_req, res) => {
    res.json({ locals: Object.getPrototypeOf(res.locals) === null });
  });
  const url = await serve(app);
  await request(url).get('/').expect(200, { locals: true });
  const wrapped = handleOf();
  for (let i = 0; i < 3; i++) await request(url).get('/').expect(200, { locals: true });
  expect(assigned).toBe(4);
  expect(wrapped !== handle).toBe(PER_OBJECT_MAPS);
  expect(handleOf()).toBe(wrapped);
  expect(Object.getOwnPropertySymbols(app).map(String)).toEqual(PER_OBJECT_MAPS ? ['Symbol(llmscope.express.dictionaryAtHandle)'] : []);
});
