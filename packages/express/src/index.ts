/**
 * @llmscope/express: `app.use(llmscope(options))`.
 * @packageDocumentation
 */
import type { Request, RequestHandler, Response, NextFunction } from 'express';
import { Llmscope, type LlmscopeOptions } from '@llmscope/core';
import { NO_MOUNTS, patchLayer } from './route-tracking';

export * from '@llmscope/core';

/** The middleware, with the llmscope instance behind it (for `shutdown()` or its registry). */
export type LlmscopeMiddleware = RequestHandler & { readonly llmscope: Llmscope };

/** The first layer of the app's router (Express 5). Express 4's `app.router` getter throws. */
function firstLayer(app: unknown): object | undefined {
  try {
    return (app as { router?: { stack?: object[] } }).router?.stack?.[0];
  } catch {
    return undefined;
  }
}

/**
 * Creates the llmscope middleware for Express 5. Put it first: `app.use(llmscope())`.
 * It gives every request a context, user/session tags, a server span and HTTP metrics, and
 * serves `/metrics`. Invalid options throw here, at start-up.
 */
export function llmscope(options?: LlmscopeOptions<Request>): LlmscopeMiddleware {
  const scope = new Llmscope(options as LlmscopeOptions<never>);
  const metricsPath = scope.metricsPath;
  const metricsPathQuery = metricsPath === undefined ? undefined : metricsPath + '?';
  const traceHeader = scope.options.traceIdHeader;
  let patched = false;

  const middleware = function llmscopeMiddleware(req: Request, res: Response, next: NextFunction): void {
    const url = req.url;
    if (metricsPath !== undefined && (url === metricsPath || url.startsWith(metricsPathQuery as string)) && (req.method === 'GET' || req.method === 'HEAD')) {
      scope.handleMetrics(req.headers.authorization).then((r) => {
        res.status(r.status).set(r.headers).send(req.method === 'HEAD' ? undefined : r.body);
      }, next);
      return;
    }
    if (!patched) {
      patched = true;
      const layer = firstLayer(req.app);
      if (layer === undefined || !patchLayer(Object.getPrototypeOf(layer))) {
        process.emitWarning('llmscope: this Express router is not Express 5\'s; route templates and errors are not recorded (requests are labelled unmatched).', 'LlmscopeWarning');
      }
    }
    const ctx = scope.startRequest(req.method, url, req.headers, req);
    ctx.adapterState = NO_MOUNTS;
    if (traceHeader !== undefined) {
      const traceId = ctx.traceId;
      if (traceId !== undefined) res.setHeader(traceHeader, traceId);
    }
    // 'close' follows 'finish' and also fires when the client goes away. One small closure: state
    // kept on `res` instead would change the shape of Node's response objects.
    res.on('close', () => scope.finishRequest(ctx, res.statusCode));
    scope.run(ctx, next);
  } as LlmscopeMiddleware;
  Object.defineProperty(middleware, 'llmscope', { value: scope, enumerable: true });
  return middleware;
}

export default llmscope;
