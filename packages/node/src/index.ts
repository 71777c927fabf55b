/**
 * @llmscope/node: `http.createServer(withLlmscope(handler, options))`.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Llmscope, type LlmscopeOptions } from '@llmscope/core';
import { getContext, respondWithError, serveOwnRoute, startNodeRequest, withInstance, type RequestContext } from '@llmscope/core/adapter';

export * from '@llmscope/core';

/** A `node:http` request handler; it may return a promise (a rejection is handled like a throw). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The wrapped handler, with the llmscope instance behind it (for `shutdown()` or its registry). */
export type LlmscopeHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { readonly llmscope: Llmscope };

/**
 * Labels the current request with a route template (`'/users/:id'`, never a raw path: labels
 * must stay bounded). Node has no router, so requests are labelled by `unmatchedRoute` until
 * the handler calls this. Outside a request (or with a non-string) it does nothing.
 */
export function setRoute(route: string): void {
  const ctx = getContext();
  if (ctx !== undefined && typeof route === 'string' && ctx.owner instanceof Llmscope && !ctx.finished) ctx.owner.setRoute(ctx, route);
}

/**
 * Wraps a `node:http` handler: every request gets a context, a server span and HTTP metrics;
 * `GET /metrics` is answered before the handler; a handler that throws or rejects has its error
 * recorded and, if nothing was sent yet, a 500 answered. Invalid options throw here, at start-up.
 */
export function withLlmscope(handler: NodeHandler, options?: LlmscopeOptions<IncomingMessage>): LlmscopeHandler {
  const scope = new Llmscope(options as LlmscopeOptions<never>);
  // Shared by every request: the response rides in the context's adapter slot, so a request
  // allocates no closure here (only the kit's one 'close' listener).
  const fail = (error: unknown): void => {
    const ctx = getContext();
    if (ctx !== undefined && ctx.owner === scope) respondWithError(scope, ctx, ctx.adapterState as ServerResponse, error);
  };
  const invoke = (): void => {
    const res = (getContext() as RequestContext).adapterState as ServerResponse;
    try {
      const result = handler(res.req, res);
      if (result instanceof Promise) result.then(undefined, fail);
    } catch (error) {
      fail(error);
    }
  };
  const listener = function llmscopeListener(req: IncomingMessage, res: ServerResponse): void {
    if (serveOwnRoute(scope, req, res)) return;
    const ctx = startNodeRequest(scope, req, res);
    ctx.adapterState = res;
    scope.run(ctx, invoke);
  };
  return withInstance(listener, scope);
}

export default withLlmscope;
