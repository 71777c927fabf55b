import type { Request, Response, NextFunction } from 'express';
import { getContext, type Llmscope, type RequestContext } from '@llmscope/core/adapter';

const PATCHED = Symbol.for('llmscope.express.layerPatched');

/**
 * `ctx.adapterState` of a request the Express adapter tracks: the stack of mount-path templates
 * entered so far (a shared empty array until a mount is entered, so most requests allocate none).
 */
export const NO_MOUNTS: readonly string[] = Object.freeze([]);

/** The parts of router 2.x's Layer (Express 5) that route tracking reads. */
interface Layer {
  handle: (...args: unknown[]) => unknown;
  rawPath?: unknown;
  route?: { path: unknown };
  handleRequest(req: Request, res: Response, next: NextFunction): unknown;
  handleError(error: unknown, req: Request, res: Response, next: NextFunction): unknown;
  [PATCHED]?: true;
}

/** The current request's context when the Express adapter tracks it. */
function tracked(): RequestContext | undefined {
  const ctx = getContext();
  return ctx !== undefined && ctx.adapterState !== undefined && !ctx.finished ? ctx : undefined;
}

function pathText(path: unknown): string {
  if (typeof path === 'string') return path;
  if (Array.isArray(path)) return path.map(pathText).join(',');
  return String(path);
}

function joinRoute(prefix: string | undefined, path: string): string {
  if (prefix === undefined || prefix === '') return path;
  return path === '/' ? prefix : prefix + path;
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
export function patchLayer(proto: Layer): boolean {
  if (proto[PATCHED]) return true;
  if (typeof proto.handleRequest !== 'function' || typeof proto.handleError !== 'function') return false;
  const handleRequest = proto.handleRequest;
  const handleError = proto.handleError;

  proto.handleRequest = function llmscopeHandleRequest(this: Layer, req, res, next) {
    const ctx = tracked();
    if (ctx !== undefined) {
      const mounts = ctx.adapterState as string[];
      const scope = ctx.owner as Llmscope;
      if (this.route !== undefined) {
        scope.setRoute(ctx, joinRoute(mounts[mounts.length - 1], pathText(this.route.path)));
        // The route's handlers may be the last layer: an error they pass on goes straight to
        // Express's final handler without meeting another layer, so catch it here.
        const routeNext = next;
        next = function llmscopeRouteNext(err?: unknown) {
          if (err !== undefined && err !== null && err !== 'route' && err !== 'router') scope.recordError(ctx, err);
          routeNext(err as Error);
        } as NextFunction;
      } else if (this.rawPath !== '/' && this.rawPath !== undefined) {
        // A layer mounted at a path (router, sub-app, middleware): its template prefixes the
        // routes inside it until it hands the request back with next().
        const stack = mounts === NO_MOUNTS ? (ctx.adapterState = []) as string[] : mounts;
        stack.push(joinRoute(stack[stack.length - 1], pathText(this.rawPath)));
        const mountNext = next;
        next = function llmscopeMountNext(err?: unknown) {
          stack.pop();
          mountNext(err as Error);
        } as NextFunction;
      }
    }
    return handleRequest.call(this, req, res, next);
  };

  proto.handleError = function llmscopeHandleError(this: Layer, error, req, res, next) {
    const ctx = tracked();
    if (ctx !== undefined) (ctx.owner as Llmscope).recordError(ctx, error);
    return handleError.call(this, error, req, res, next);
  };
  proto[PATCHED] = true;
  return true;
}
