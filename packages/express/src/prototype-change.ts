/**
 * Undoing the cost of Express's per-request prototype change on the V8 of Node 20 and 22.
 *
 * Express gives each request and response its app's prototypes (`Object.setPrototypeOf`, on every
 * request). On V8 before 13 every property then added to such an object (`res.locals`,
 * `req.next`, `req.params`, `req.body`, the app's own) gives that one object a map of its own,
 * and the young generation stops dying young: scavenges keep and promote most of it, and a bare
 * Express route costs ~120 µs of CPU on Node 20 against ~35 on Node 24 (docs/performance.md,
 * "Express on Node 20 and 22"). Two things undo it, with the same properties and values and no
 * property of llmscope's own on the request or response:
 *
 * - An object in dictionary mode takes new properties without new maps, and deleting one of its
 *   own properties puts it there: the request's `req.res` and the response's `res.req` (Express
 *   sets both before the change) are deleted and set again when llmscope's middleware starts
 *   the request, before the router and the app add theirs.
 * - `res.locals` is the one property Express adds between the change and the middleware: the
 *   app's `handle` is wrapped to set it first, before the change, as Express would have.
 *
 * Node 20, the bench's one-route app (`bench/src/prototype-change.ts`): 125.9 µs of CPU a request
 * bare, 45.1 with `llmscope({ tracing: false })`, 42.3 for the bare app on a server made with its
 * prototypes. Node 24's V8 shares the maps: nothing is done there.
 */

/** Whether this V8 gives each object its own map after a prototype change (before 13: Node 20, 22). */
export const PER_OBJECT_MAPS = Number(process.versions.v8.split('.')[0]) < 13;

const hasOwn = Object.prototype.hasOwnProperty;

/** Puts `o` in dictionary mode by deleting its own data property `key` and setting it again. */
function toDictionary(o: object, key: string): void {
  if (!hasOwn.call(o, key)) return;
  const value = (o as Record<string, unknown>)[key];
  // A property someone made non-configurable stays as it is.
  if (Reflect.deleteProperty(o, key)) (o as Record<string, unknown>)[key] = value;
}

/**
 * Called with each request and response once Express has changed their prototypes, before the
 * router adds properties to them. Only when {@link PER_OBJECT_MAPS}: the request path tests the
 * constant, so Node 24 pays no call.
 */
export function afterPrototypeChange(req: object, res: object): void {
  toDictionary(req, 'res');
  toDictionary(res, 'req');
}

const PRESET = Symbol.for('llmscope.express.localsPreset');

/**
 * Gives each response its `res.locals` before Express changes its prototype, where adding it
 * costs nothing: Express sets it right after the change when missing (the one property added
 * before llmscope's middleware runs).
 */
export function presetLocals(app: unknown): void {
  const target = app as { handle?: unknown; [PRESET]?: true };
  if (!PER_OBJECT_MAPS || typeof target.handle !== 'function' || target[PRESET]) return;
  const handle = target.handle as (this: unknown, req: unknown, res: { locals?: unknown }, next: unknown) => unknown;
  target.handle = function llmscopeAppHandle(this: unknown, req: unknown, res: { locals?: unknown }, next: unknown): unknown {
    if (res.locals === undefined) res.locals = Object.create(null);
    return handle.call(this, req, res, next);
  };
  target[PRESET] = true;
}
