/**
 * @llmscope/express: `app.use(llmscope(options))`.
 * @packageDocumentation
 */
import type { Request, RequestHandler, Response, NextFunction } from 'express';
import { Llmscope, type LlmscopeOptions } from '@llmscope/core';
import { serveOwnRoute, setTraceIdHeader, withInstance } from '@llmscope/core/adapter';
import { NO_MOUNTS, patchLayer, patchLayer4, trackRequest } from './route-tracking';

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

/**
 * Creates the llmscope middleware for Express 4.17+ and 5. Put it first: `app.use(llmscope())`.
 * It gives every request a context, user/session tags, a server span and HTTP metrics, and
 * serves `/metrics`. Invalid options throw here, at start-up.
 */
export function llmscope(options?: LlmscopeOptions<Request>): LlmscopeMiddleware {
  const scope = new Llmscope(options as LlmscopeOptions<never>);
  let patched = false;

  const middleware = function llmscopeMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (serveOwnRoute(scope, req, res)) return;
    if (!patched) {
      patched = true;
      if (!patchRouter(req.app)) {
        process.emitWarning('llmscope: this Express router is neither Express 4\'s nor Express 5\'s; route templates and errors are not recorded (requests are labelled unmatched).', 'LlmscopeWarning');
      }
    }
    // Context, span and trace-id header come from core and the kit; the route template from the
    // patched router layers (route-tracking.ts), which need a stack. trackRequest's one 'close'
    // listener finishes the request (as the kit's finishOnClose) and forgets it.
    const ctx = scope.startRequest(req.method, req.url, req.headers, req);
    setTraceIdHeader(scope, ctx, res);
    ctx.adapterState = NO_MOUNTS;
    trackRequest(scope, req, res, ctx);
    scope.run(ctx, next);
  };
  return withInstance(middleware as RequestHandler, scope);
}

export default llmscope;
