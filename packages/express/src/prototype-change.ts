/**
 * Undoing the cost of Express's per-request prototype change on the V8 of Node 20 and 22.
 *
 * Express gives each request and response its app's prototypes (`Object.setPrototypeOf`, on every
 * request: in `app.handle` on Express 5, in the `expressInit` layer on Express 4). On V8 before 13
 * every property then added to such an object (`res.locals`, the router's `req.next`,
 * `req.baseUrl`, `req.params`, then `req.body` and the app's own) gives that one object a map of
 * its own, and the young generation stops dying young: scavenges keep and promote most of it, and
 * a bare Express route costs ~120 µs of CPU on Node 20 against ~35 on Node 24
 * (docs/performance.md, "Express on Node 20 and 22").
 *
 * An object in dictionary mode takes new properties without new maps. Deleting one of its own
 * properties puts it there (the last one added only when the prototype changed since), and that
 * must happen after the prototype change: changing the prototype of an object already in
 * dictionary mode gives it a map of its own too (changing it to the prototype it has is a no-op).
 * So the outermost app's `handle`, where every request enters before Express does anything to it,
 * is wrapped to make Express's change first, with a property of llmscope's own added to the
 * request and the response before it and deleted after. Express's own change is then a no-op, and
 * every property added after (`req.res`, `res.locals`, the router's, those of middleware placed
 * before llmscope's and of the app) costs no map. Nothing the app can see changes: the same
 * properties in the same order, the same values and prototypes, none of llmscope's left.
 *
 * Node 20, the bench's one-route app (`bench/src/prototype-change.ts`): 125.9 µs of CPU a request
 * bare, 45.1 with `llmscope({ tracing: false })`, 42.3 for the bare app on a server made with its
 * prototypes. Node 24's V8 shares the maps: nothing is done there.
 */

/** Whether this V8 gives each object its own map after a prototype change (before 13: Node 20, 22). */
export const PER_OBJECT_MAPS = Number(process.versions.v8.split('.')[0]) < 13;

// Deleting a property puts an object in dictionary mode, unless it was the last one added (the map
// steps back then); after a prototype change no property counts as that. So a property of
// llmscope's own is added before the change and deleted after it.
const TEMP = Symbol('llmscope.express.dictionary');

const PREPARED = Symbol.for('llmscope.express.dictionaryAtHandle');

interface ExpressApp {
  handle?: unknown;
  parent?: unknown;
  request?: unknown;
  response?: unknown;
  [PREPARED]?: true;
}

/** A request or a response, as the wrapper sees it. */
interface Message {
  [TEMP]?: undefined;
}
type Handle = (this: ExpressApp, req: Message, res: Message, next: unknown) => unknown;

const isObject = (o: unknown): o is object => typeof o === 'object' && o !== null;
/** An Express app is a function (the server's request listener). */
const isApp = (o: unknown): o is ExpressApp => (typeof o === 'function' || isObject(o)) && typeof (o as ExpressApp).handle === 'function';

/**
 * Wraps the `handle` of `app`'s outermost app (a mounted sub-app's `parent`, up the chain): each
 * request and response gets the app's prototypes there, then dictionary mode, before Express makes
 * the same change (then a no-op) and adds to them. Once per app (several llmscope
 * instances and the NestJS module share the mark), and only when {@link PER_OBJECT_MAPS}: on
 * Node 24 the app is left as it is. The middleware calls it on its first request (that request
 * and those in flight run as before); a sub-app's requests change prototype again when they enter
 * it, which gives each one map there (without llmscope, one more for every property added after).
 */
export function prepareApp(app: unknown): void {
  if (!PER_OBJECT_MAPS || !isApp(app)) return;
  let target = app;
  // Bounded: a `parent` chain that loops (no Express app makes one) ends the walk.
  for (let p = target.parent, depth = 0; isApp(p) && depth < 64; p = p.parent, depth++) target = p;
  if (target[PREPARED] || !isObject(target.request) || !isObject(target.response)) return;
  const handle = target.handle as Handle;
  // Read once: Express never replaces them, and reads them again itself (a change it then makes
  // is still made, only without the saving).
  const request = target.request;
  const response = target.response;
  target.handle = function llmscopeAppHandle(this: ExpressApp, req: Message, res: Message, next: unknown): unknown {
    // Express's change, made first (Express's own is then a no-op): TEMP, added before it and
    // deleted after, puts both in dictionary mode and leaves nothing behind.
    req[TEMP] = undefined;
    res[TEMP] = undefined;
    Object.setPrototypeOf(req, request);
    Object.setPrototypeOf(res, response);
    delete req[TEMP];
    delete res[TEMP];
    return handle.call(this, req, res, next);
  };
  target[PREPARED] = true;
}
