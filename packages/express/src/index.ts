/**
 * @llmscope/express: `app.use(llmscope(options))`.
 * @packageDocumentation
 */
import type { Request, RequestHandler, Response, NextFunction } from 'express';
import { Llmscope, type LlmscopeOptions } from '@llmscope/core';
import { serveOwnRoute, setTraceIdHeader, withInstance, type RequestContext } from '@llmscope/core/adapter';
import { NO_MOUNTS, patchLayer, patchLayer4, trackRequest } from './route-tracking';
import { prepareApp } from './prototype-change';

export * from '@llmscope/core';

/** The middleware, with the llmscope instance behind it (for `shutdown()` or its registry). */
export type LlmscopeMiddleware = RequestHandler & { readonly llmscope: Llmscope };

/**
 * The first layer of the app's router: Express 5's `app.router`, else Express 4's `app._router`
 * (Express 4's `app.router` getter throws; its router exists once a first middleware is added).
 */
function firstLayer(app: unknown): object | undefined {
  let layer: object | undefined;
  try {
    layer = (app as { router?: { stack?: object[] } }).router?.stack?.[0];
  } catch {
    // Express 4
  }
  return layer ?? (app as { _router?: { stack?: object[] } } | undefined)?._router?.stack?.[0];
}

/** Patches the router's Layer prototype: Express 5's, else Express 4's. False when neither. */
function patchRouter(app: unknown): boolean {
  const layer = firstLayer(app);
  if (layer === undefined) return false;
  const proto = Object.getPrototypeOf(layer);
  return patchLayer(proto) || patchLayer4(proto);
}

/** The parts of router 2.x (Express 5) that moving the middleware to the router's entry uses. */
interface Router5 {
  /** Layers; `slash`: mounted at `/` (no path), so it sees every request. */
  stack?: { handle?: unknown; match?: unknown; slash?: unknown }[];
  handle?: (this: Router5, req: Request, res: Response, done: NextFunction) => void;
}

/** A layer that matches no path: the router passes it by with one call. */
function matchesNothing(): boolean {
  return false;
}

/** The request start of each middleware `llmscope()` made, for {@link enterAtRouter}. */
type Start = (req: Request, res: Response) => RequestContext | undefined;
const starts = new WeakMap<object, Start>();

/** Express 5's router of `app` (router 2.x), or undefined (Express 4's `app.router` throws; not an app). */
function router5(app: unknown): Router5 | undefined {
  try {
    const router = (app as { router?: Router5 } | undefined)?.router;
    return typeof router?.handle === 'function' && Array.isArray(router.stack) ? router : undefined;
  } catch {
    return undefined;
  }
}

/** Wraps the router's entry: every request the router handles starts there, and runs on in its context. */
function startAtEntry(router: Router5, start: Start, scope: Llmscope): void {
  const handle = router.handle as NonNullable<Router5['handle']>;
  router.handle = function llmscopeRouterHandle(req, res, done) {
    const ctx = start(req, res);
    if (ctx !== undefined) scope.run(ctx, () => handle.call(router, req, res, done));
  };
}

/**
 * When the middleware is the first layer of its app's router, without a path (Express 5 with
 * `app.use(llmscope())` first, as the docs say), it moves to the router's entry: the router's
 * `handle` starts the request and the layer stops matching. The order is the same (nothing ran
 * before it either way), but the router no longer walks a layer for it on every request
 * (matching, params, prefix trimming, the layer's `next`): 13.5 → 9.0 µs of added CPU a request
 * on Node 20 (docs/performance.md). Done once, on the first request: requests in flight then
 * have passed the layer already, and a request reaches the first layer synchronously from the
 * router's entry, so none misses both. Anywhere else (Express 4, whose `query` and `expressInit`
 * come first: the same move into `expressInit`'s hand-off measured no gain; under a path; after
 * other middleware; in a router) it stays a layer.
 */
function moveToRouterEntry(app: unknown, middleware: RequestHandler, start: Start, scope: Llmscope): boolean {
  const router = router5(app);
  const layer = router?.stack?.[0];
  if (router === undefined || layer === undefined || layer.handle !== middleware || layer.slash !== true || typeof layer.match !== 'function') return false;
  startAtEntry(router, start, scope);
  layer.match = matchesNothing;
  return true;
}

/**
 * Starts the requests of an Express 5 `app` at its router's entry, before any of its layers,
 * with `middleware`'s llmscope instance: for code that owns the app and whose own first layer
 * would otherwise come before llmscope's (the NestJS module: Nest's adapter adds a layer of its
 * own when it creates the app). The middleware itself is then not to be `use`d. Also patches the
 * router's layers for route templates and errors, as the middleware does on its first request.
 *
 * @param middleware - what {@link llmscope} returned.
 * @returns false (nothing changed) when `app` is not an Express 5 app with a layer in its router
 *   (Express 4; a router not yet made): use the middleware as a layer then.
 */
export function enterAtRouter(app: unknown, middleware: LlmscopeMiddleware): boolean {
  const start = starts.get(middleware);
  const router = router5(app);
  if (start === undefined || router === undefined || !patchRouter(app)) return false;
  startAtEntry(router, start, middleware.llmscope);
  prepareApp(app);
  return true;
}

/**
 * Creates the llmscope middleware for Express 4.17+ and 5. Put it first: `app.use(llmscope())`.
 * It gives every request a context, user/session tags, a server span and HTTP metrics, and
 * serves `/metrics`. Invalid options throw here, at start-up.
 */
export function llmscope(options?: LlmscopeOptions<Request>): LlmscopeMiddleware {
  const scope = new Llmscope(options as LlmscopeOptions<never>);
  let patched = false;

  // Context, span and trace-id header come from core and the kit; the route template from the
  // patched router layers (route-tracking.ts), which need a stack. trackRequest's one 'close'
  // listener finishes the request (as the kit's finishOnClose) and forgets it. Undefined when
  // llmscope answered the request itself (/metrics).
  const start: Start = (req, res) => {
    if (serveOwnRoute(scope, req, res)) return undefined;
    const ctx = scope.startRequest(req.method, req.url, req.headers, req);
    setTraceIdHeader(scope, ctx, res);
    ctx.adapterState = NO_MOUNTS;
    trackRequest(res, ctx);
    return ctx;
  };

  const middleware = function llmscopeMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (!patched) {
      patched = true;
      if (!patchRouter(req.app)) {
        process.emitWarning('llmscope: this Express router is neither Express 4\'s nor Express 5\'s; route templates and errors are not recorded (requests are labelled unmatched).', 'LlmscopeWarning');
      }
      moveToRouterEntry(req.app, middleware as RequestHandler, start, scope);
      prepareApp(req.app);
    }
    const ctx = start(req, res);
    if (ctx !== undefined) scope.run(ctx, next);
  };
  const result = withInstance(middleware as RequestHandler, scope);
  starts.set(result, start);
  return result;
}

export default llmscope;
