import type { ServerResponse } from 'node:http';
import type { Request, Response, NextFunction } from 'express';
import { finishOnClose, getContext, type Llmscope, type RequestContext } from '@llmscope/core/adapter';

const PATCHED = Symbol.for('llmscope.express.layerPatched');

/**
 * `ctx.adapterState` of a request the Express adapter tracks: the stack of mount-path templates
 * entered so far (a shared empty array until a mount is entered, so most requests allocate none).
 */
export const NO_MOUNTS: readonly string[] = Object.freeze([]);

/** A route as both routers have it: `app.get(path)` keeps its path (string, array or RegExp). */
interface Route {
  path: unknown;
}

/** The parts of router 2.x's Layer (Express 5) that route tracking reads. */
interface Layer5 {
  rawPath?: unknown;
  route?: Route;
  handleRequest(req: Request, res: Response, next: NextFunction): unknown;
  handleError(error: unknown, req: Request, res: Response, next: NextFunction): unknown;
  [PATCHED]?: true;
}

/**
 * The parts of Express 4's Layer (`express/lib/router/layer.js`) that route tracking reads. It
 * keeps no path, only the RegExp that path-to-regexp 0.1.x made of it (and its keys).
 */
interface Layer4 {
  regexp: RegExp & { fast_slash?: boolean };
  keys?: { name: string | number }[];
  route?: Route;
  method?: string;
  handle_request(req: Request, res: Response, next: NextFunction): unknown;
  handle_error(error: unknown, req: Request, res: Response, next: NextFunction): unknown;
  [PATCHED]?: true;
}

/** Whether `ctx` (the current context) is a request the Express adapter tracks, still under way. */
function isTracked(ctx: RequestContext | undefined): ctx is RequestContext {
  return ctx !== undefined && ctx.adapterState !== undefined && !ctx.finished;
}

/**
 * Each tracked request's context, by response object, while the response is open (a WeakMap:
 * nothing added to Node's objects). Middleware that resumes from a stream or socket callback
 * hands the request on outside any context: body-parser before 1.20 (Express 4.17's
 * `express.json()`, whose raw-body does not bind its callbacks), old session stores,
 * callback-style auth. The next route or mount layer finds the request's context here and
 * re-enters it, so route handlers run in their request's context whatever ran before them.
 * Looked up only when the context is missing, and by the one `close` listener all requests share.
 *
 * Not a property on the response: after Express's `setPrototypeOf`, adding one costs ~6 µs an
 * object on Node 20, ~3 on Node 22 and ~0 on Node 24, where the map's `set`, `get` and `delete`
 * cost ~0.2-0.3 µs (`bench/src/micro-response-context.ts`; docs/performance.md, "The response's
 * context"). The entry is deleted on `close`, not left to the GC: an entry whose key dies costs
 * ephemeron processing in the next scavenge.
 */
const contexts = new WeakMap<object, RequestContext>();

/**
 * The `close` listener of every tracked response (`this`: the response): forgets its context and
 * finishes the request. One function for all requests: a closure per request, with the context
 * holding what it names, cost ~120 bytes a request (docs/performance.md).
 */
function finishTracked(this: ServerResponse): void {
  const ctx = contexts.get(this);
  if (ctx === undefined) return;
  contexts.delete(this);
  (ctx.owner as Llmscope).finishRequest(ctx, this.statusCode);
}

/**
 * Remembers `ctx` as `res`'s until the response closes, then finishes the request: one `close`
 * listener (the kit's `finishOnClose` and the forgetting together).
 */
export function trackRequest(res: ServerResponse, ctx: RequestContext): void {
  if (contexts.has(res)) {
    // A second llmscope instance on the same request (an app inside another, each with its own):
    // the shared listener finishes the first one's; this one gets the kit's listener of its own.
    finishOnClose(ctx.owner as Llmscope, ctx, res);
    return;
  }
  contexts.set(res, ctx);
  res.on('close', finishTracked);
}

/** `res`'s context when the current one was lost on the way (see `contexts`). */
function lostContext(res: object): RequestContext | undefined {
  const ctx = contexts.get(res);
  return ctx !== undefined && !ctx.finished ? ctx : undefined;
}

function pathText(path: unknown): string {
  if (typeof path === 'string') return path;
  if (Array.isArray(path)) return path.map(pathText).join(',');
  return String(path);
}

/**
 * The innermost mount template, if any. Not `stack[stack.length - 1]` on an empty stack (most
 * requests): index -1 is a named-property lookup up the prototype chain, ~37 ns against ~2
 * (`bench/src/micro-response-context.ts`).
 */
function innermost(stack: readonly string[]): string | undefined {
  return stack.length === 0 ? undefined : stack[stack.length - 1];
}

function joinRoute(prefix: string | undefined, path: string): string {
  if (prefix === undefined || prefix === '') return path;
  return path === '/' ? prefix : prefix + path;
}

function isError(err: unknown): boolean {
  return err !== undefined && err !== null && err !== 'route' && err !== 'router';
}

/**
 * A request enters a route layer: its template, joined to the innermost mount template, is the
 * request's route. Returns the `next` to hand the layer: the route's handlers may be the last
 * layer, and an error they pass on then goes straight to Express's final handler without
 * meeting another layer, so it is recorded on its way out.
 */
function enterRoute(ctx: RequestContext, route: Route, next: NextFunction): NextFunction {
  const mounts = ctx.adapterState as string[];
  const scope = ctx.owner as Llmscope;
  scope.setRoute(ctx, joinRoute(innermost(mounts), pathText(route.path)));
  return function llmscopeRouteNext(err?: unknown) {
    if (isError(err)) scope.recordError(ctx, err);
    next(err as Error);
  } as NextFunction;
}

/**
 * A request enters a layer mounted at a path (router, sub-app, middleware): its template
 * prefixes the routes inside it until it hands the request back with `next()`, which pops it
 * (and records an error the mounted stack passes out, which may meet no other layer).
 */
function enterMount(ctx: RequestContext, template: string, next: NextFunction): NextFunction {
  const mounts = ctx.adapterState as string[];
  const stack = mounts === NO_MOUNTS ? (ctx.adapterState = []) as string[] : mounts;
  stack.push(joinRoute(innermost(stack), template));
  return function llmscopeMountNext(err?: unknown) {
    stack.pop();
    if (isError(err) && !ctx.finished) (ctx.owner as Llmscope).recordError(ctx, err);
    next(err as Error);
  } as NextFunction;
}

function recordLayerError(error: unknown, res: object): void {
  const current = getContext();
  const ctx = isTracked(current) ? current : current === undefined ? lostContext(res) : undefined;
  if (ctx !== undefined) (ctx.owner as Llmscope).recordError(ctx, error);
}

/**
 * Teaches Express 5's router (the `router` package's Layer) to report, for requests llmscope
 * tracks, the full route template including mount paths of routers and sub-apps, and the errors
 * that flow through it. Express exposes neither (`req.baseUrl` holds concrete values such as
 * `/orgs/42`), so the Layer prototype is wrapped once per process: layers entered under a mount
 * path push its template, and the matched route layer reports `prefix + route.path`. The state
 * lives in the request context (found through AsyncLocalStorage), not on `req`: adding
 * properties to Node's request objects changes their shape and slows Express's own code.
 *
 * @returns false when the router is not the Express 5 one (no route templates then).
 */
export function patchLayer(proto: Layer5): boolean {
  return patchOnce(proto, 'handleRequest', 'handleError', (handleRequest) => function llmscopeHandleRequest(this: Layer5, req, res, next): unknown {
    const route = this.route;
    const rawPath = this.rawPath;
    // Plain middleware (`app.use(fn)`) and the handler layers inside a route have the path `/`
    // and no route: passed by before the context lookup, as on Express 4 (a context lost before
    // them is re-entered at the next route or mount layer). Under Nest, four of the five layers
    // a request meets (Nest's own, two body parsers, the route's handler).
    if (route !== undefined || (rawPath !== '/' && rawPath !== undefined)) {
      // One context lookup: the request's own, another's (not ours to track), or none.
      const ctx = getContext();
      if (ctx === undefined) {
        const lost = lostContext(res);
        if (lost !== undefined) return (lost.owner as Llmscope).run(lost, () => llmscopeHandleRequest.call(this, req, res, next));
      } else if (isTracked(ctx)) {
        next = route !== undefined ? enterRoute(ctx, route, next) : enterMount(ctx, pathText(rawPath), next);
      }
    }
    return handleRequest.call(this, req, res, next);
  });
}

type Handle = (this: unknown, req: Request, res: Response, next: NextFunction) => unknown;
type HandleError = (this: unknown, error: unknown, req: Request, res: Response, next: NextFunction) => unknown;

/**
 * Wraps a router Layer prototype once per process (both majors): its request handler with
 * `wrapRequest`, its error handler with {@link recordingErrors}. False when the prototype does
 * not have the two methods (not that major's router).
 */
function patchOnce<L extends { [PATCHED]?: true }, K extends string, E extends string>(
  proto: L,
  requestKey: K,
  errorKey: E,
  wrapRequest: (handleRequest: Handle) => (this: L, req: Request, res: Response, next: NextFunction) => unknown,
): boolean {
  if (proto[PATCHED]) return true;
  const methods = proto as unknown as Record<K | E, unknown>;
  const handleRequest = methods[requestKey];
  const handleError = methods[errorKey];
  if (typeof handleRequest !== 'function' || typeof handleError !== 'function') return false;
  methods[requestKey] = wrapRequest(handleRequest as Handle);
  methods[errorKey] = recordingErrors(handleError as HandleError);
  proto[PATCHED] = true;
  return true;
}

/** A layer's error handler that records the error flowing through it first (both majors). */
function recordingErrors(handleError: HandleError): HandleError {
  return function llmscopeHandleError(this: unknown, error, req, res, next) {
    recordLayerError(error, res);
    return handleError.call(this, error, req, res, next);
  };
}

/** Mount templates of Express 4 layers, read back from their RegExp once per layer. */
const mountTemplates = new WeakMap<object, string>();

function mountTemplate(layer: Layer4): string {
  let template = mountTemplates.get(layer);
  if (template === undefined) {
    template = regexpTemplate(layer.regexp, layer.keys ?? []);
    mountTemplates.set(layer, template);
  }
  return template;
}

/**
 * The same for Express 4.17+ (`express/lib/router/layer.js`, methods `handle_request` and
 * `handle_error`). Route layers keep their path on `layer.route.path` as in Express 5; a layer
 * mounted with `app.use(path, ...)` keeps only the RegExp made of its path, so the template is
 * read back from that RegExp the first time a tracked request enters the layer and cached per
 * layer (a WeakMap, nothing added to Express's objects). Plain middleware (`app.use(fn)`, a
 * RegExp flagged `fast_slash`) and the handler layers inside a route (they carry `method`) are
 * passed by before the context lookup.
 *
 * @returns false when the router is not the Express 4 one.
 */
export function patchLayer4(proto: Layer4): boolean {
  return patchOnce(proto, 'handle_request', 'handle_error', (handleRequest) => function llmscopeHandleRequest(this: Layer4, req, res, next): unknown {
    const route = this.route;
    if (route !== undefined || (this.regexp.fast_slash !== true && !('method' in this))) {
      const ctx = getContext();
      if (ctx === undefined) {
        const lost = lostContext(res);
        if (lost !== undefined) return (lost.owner as Llmscope).run(lost, () => llmscopeHandleRequest.call(this, req, res, next));
      } else if (isTracked(ctx)) {
        if (route !== undefined) next = enterRoute(ctx, route, next);
        else {
          const template = mountTemplate(this);
          if (template !== '') next = enterMount(ctx, template, next);
        }
      }
    }
    return handleRequest.call(this, req, res, next);
  });
}

// Reading a path back from the RegExp that path-to-regexp 0.1.x (Express 4) made of it. Called
// once per mounted layer, never per request. Anything the generator does not produce (a RegExp
// the app passed itself) gives the RegExp's own text, `/\/files\/.*/`, as Express 5 reports it.

/** Generated sources end with one of these (non-ending match), or `$`. */
const TAILS = ['(?=\\/|$)', '(?:\\/|$)'];
/**
 * Captures path-to-regexp writes for a plain `:name` (with or without a `.` format before it); the
 * RegExp's source escapes `/` in a character class or not, depending on how it was written.
 */
const PLAIN_CAPTURES = ['([^/]+?)', '([^/\\.]+?)', '([^\\/]+?)', '([^\\/\\.]+?)'];

/**
 * The path template a RegExp of path-to-regexp 0.1.x was made from: `/orgs/:orgId`, `/a,/b` for
 * an array, `''` for `/`; the RegExp's text when it was not made by path-to-regexp.
 */
export function regexpTemplate(regexp: RegExp, keys: readonly { name: string | number }[]): string {
  const names = keys.filter((k) => typeof k.name === 'string').map((k) => k.name as string);
  let source = regexp.source;
  // path-to-regexp before 0.1.8 wraps an array's alternatives in one group.
  if (source.startsWith('(?:^') && groupEnd(source, 0) === source.length) source = source.slice(3, -1);
  const parts = splitTop(source);
  const out: string[] = [];
  let nameIndex = 0;
  for (const part of parts) {
    const result = unparse(part, names, nameIndex);
    if (result === undefined) return String(regexp);
    out.push(result.path);
    nameIndex = result.nameIndex;
  }
  return out.length === 1 && (out[0] === '' || out[0] === '/') ? '' : out.join(',');
}

/** Index just past the group opening at `start` (`source[start] === '('`), or -1. */
function groupEnd(source: string, start: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = start; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

/** `source` split at its top-level `|` (an array path's alternatives). */
function splitTop(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let from = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(source.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(source.slice(from));
  return parts;
}

function unparse(part: string, names: readonly string[], nameIndex: number): { path: string; nameIndex: number } | undefined {
  if (part[0] !== '^') return undefined;
  let body = part.slice(1);
  const tail = TAILS.find((t) => body.endsWith(t));
  if (tail !== undefined) body = body.slice(0, -tail.length);
  else if (body.endsWith('$') && !body.endsWith('\\$')) body = body.slice(0, -1);
  // Mounts are never strict: the generator always allows a trailing slash.
  if (!body.endsWith('\\/?')) return undefined;
  body = body.slice(0, -3);
  let path = '';
  for (let i = 0; i < body.length;) {
    const c = body[i] as string;
    if (c === '\\') {
      const e = body[i + 1];
      if (e === undefined) return undefined;
      path += e === '/' || e === '.' ? e : c + e;
      i += 2;
    } else if (c === '(') {
      const end = groupEnd(body, i);
      if (end < 0) return undefined;
      const group = body.slice(i, end);
      i = end;
      if (group === '(.*)') {
        path += '*';
        continue;
      }
      if (!group.startsWith('(?:')) {
        path += group; // a group the app wrote in its path: kept as written
        continue;
      }
      const key = keyGroup(group.slice(3, -1));
      if (key === undefined) {
        if (group[3] === '?' || group[3] === '=' || group[3] === '!') return undefined;
        path += '(' + group.slice(3); // `/(a|b)` became `/(?:a|b)`
        continue;
      }
      const name = names[nameIndex++];
      if (name === undefined) return undefined;
      let optional = '';
      if (body[i] === '?') {
        optional = '?';
        i++;
      }
      path += key.prefix + ':' + name + key.capture + key.star + optional;
    } else if (c === '.' || c === '*' || c === '$' || c === '^' || c === '|' || c === '?' || c === '[') {
      return undefined; // never left bare by the generator: a RegExp the app wrote
    } else {
      path += c;
      i++;
    }
  }
  return { path, nameIndex };
}

/** The inside of a `(?:...)` group made for a `:name` key, or undefined when it is not one. */
function keyGroup(inner: string): { prefix: string; capture: string; star: string } | undefined {
  let i = 0;
  let prefix = '';
  if (inner.startsWith('\\.', i)) {
    prefix += '.';
    i += 2;
  }
  if (inner.startsWith('\\/', i)) {
    prefix = '/' + prefix;
    i += 2;
  }
  if (inner[i] !== '(') return undefined;
  const end = groupEnd(inner, i);
  if (end < 0) return undefined;
  const capture = inner.slice(i, end);
  const rest = inner.slice(end);
  let star = '';
  if (rest !== '') {
    if (!rest.startsWith('((?:[') || groupEnd(rest, 0) !== rest.length) return undefined;
    star = '*';
  }
  const plain = PLAIN_CAPTURES.includes(capture) || (capture.startsWith('((?:(?!\\/|') && capture.endsWith(').)+?)'));
  return { prefix, capture: plain ? '' : capture, star };
}
