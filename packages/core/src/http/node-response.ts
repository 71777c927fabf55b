/**
 * The adapter kit: what every adapter built on Node's `http` objects does around a request,
 * written once. Express, Fastify and `@llmscope/node` use it; a new adapter should too.
 *
 * Hot path: these run on every request. They allocate nothing but the one `close` listener,
 * compile no regex and add no property to Node's `req`/`res` (a property added to those objects
 * changes their hidden class and was measured at ~6 µs a request in Express).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../context/context';
import type { Llmscope } from '../llmscope';
import type { HandlerResponse } from './metrics-endpoint';
import { BudgetExceededError } from '../budgets/errors';
import { matchOwnRoute, type OwnRoute, type OwnRouteRequest } from './own-routes';

/** `?`: the metrics path may be followed by a query string (`/metrics?name[]=x`). */
const QUERY = 0x3f;
const ERROR_BODY = 'Internal Server Error\n';
const BUDGET_BODY = 'Too Many Requests\n';

/**
 * Whether a request is a scrape of `scope`'s metrics endpoint: method GET or HEAD and a request
 * target equal to the metrics path, or the path followed by `?query`. Scrapes are answered with
 * {@link serveMetrics} and are not app traffic (neither counted nor traced).
 *
 * @param method - the request method as received (`req.method`)
 * @param url - the request target (`req.url`: path and query)
 */
export function isMetricsRequest(scope: Llmscope, method: string | undefined, url: string | undefined): boolean {
  const path = scope.metricsPath;
  if (path === undefined || url === undefined || !url.startsWith(path)) return false;
  if (url.length !== path.length && url.charCodeAt(path.length) !== QUERY) return false;
  return method === 'GET' || method === 'HEAD';
}

/**
 * Answers the metrics endpoint on a raw Node response: the status, headers and Prometheus text
 * of {@link Llmscope.handleMetrics} (401 without the configured bearer token; OpenMetrics when
 * `Accept` asks for it), no body for HEAD.
 * Never rejects; a response that is already sent or closed is left alone.
 */
export async function serveMetrics(scope: Llmscope, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const r = await scope.handleMetrics(req.headers.authorization, req.headers.accept);
    if (res.headersSent || res.destroyed) return;
    res.statusCode = r.status;
    for (const name in r.headers) res.setHeader(name, r.headers[name] as string);
    res.setHeader('content-length', Buffer.byteLength(r.body));
    res.end(req.method === 'HEAD' ? undefined : r.body);
  } catch {
    // handleMetrics does not reject; this guards the write itself (a socket gone mid-answer).
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 500;
      res.end();
    }
  }
}

/**
 * Sets the trace-id response header (option `traceIdHeader`, default `x-trace-id`) when the
 * request is traced. Call it before the response's headers are sent, right after
 * {@link Llmscope.startRequest}.
 */
export function setTraceIdHeader(scope: Llmscope, ctx: RequestContext, res: ServerResponse): void {
  const name = scope.options.traceIdHeader;
  if (name === undefined) return;
  const traceId = ctx.traceId;
  if (traceId !== undefined) res.setHeader(name, traceId);
}

/**
 * Finishes the request ({@link Llmscope.finishRequest}) with the response's status code when the
 * response closes. `close` fires once for every response: after `finish`, and also when the
 * client goes away or a framework hijacks the socket, where "response sent" hooks never run.
 * The listener is the one closure a request costs; its state is not stored on `res`.
 */
export function finishOnClose(scope: Llmscope, ctx: RequestContext, res: ServerResponse): void {
  res.on('close', () => scope.finishRequest(ctx, res.statusCode));
}

/**
 * Starts a request on Node's objects: {@link Llmscope.startRequest}, then
 * {@link setTraceIdHeader} and {@link finishOnClose}. The adapter then runs the rest of its
 * framework's handling inside the context with {@link Llmscope.run}.
 *
 * @param request - what `identify` receives (the framework's request object); default `req`
 */
export function startNodeRequest(scope: Llmscope, req: IncomingMessage, res: ServerResponse, request: unknown = req): RequestContext {
  const ctx = scope.startRequest(req.method ?? 'GET', req.url, req.headers, request);
  setTraceIdHeader(scope, ctx, res);
  finishOnClose(scope, ctx, res);
  return ctx;
}

/**
 * For an error no framework handles (a Node handler that threw or rejected): records it
 * ({@link Llmscope.recordError}) and answers 500 (429 with `retry-after` for a
 * `BudgetExceededError`) if the headers are not sent yet; a response already under way is
 * destroyed, so that the client sees a failure rather than waiting.
 */
export function respondWithError(scope: Llmscope, ctx: RequestContext, res: ServerResponse, error: unknown): void {
  scope.recordError(ctx, error);
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // An exhausted LLM budget is the client's to wait out, not a server failure.
  const budget = error instanceof BudgetExceededError;
  const body = budget ? BUDGET_BODY : ERROR_BODY;
  res.statusCode = budget ? 429 : 500;
  if (budget) res.setHeader('retry-after', error.headers['retry-after'] as string);
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  // Replaces a length the handler may have set for the body it never sent.
  res.setHeader('content-length', body.length);
  res.end(body);
}

/**
 * Whether a request is a post to `scope`'s feedback route (`evaluations.feedback`): method POST
 * and the route's path, optionally followed by `?query`. Answer it with {@link serveFeedback}.
 */
export function isFeedbackRequest(scope: Llmscope, method: string | undefined, url: string | undefined): boolean {
  const feedback = scope.feedback;
  return feedback !== undefined && method === 'POST' && feedback.matches(url);
}

/**
 * Answers the feedback route on raw Node objects: reads the body (at most the route's
 * `maxBodyBytes`: a longer one is answered 413 without reading on), hands it to the route and
 * writes its answer. Never rejects.
 *
 * @param request - what `authorize` receives (the framework's request object); default `req`
 */
export async function serveFeedback(scope: Llmscope, req: IncomingMessage, res: ServerResponse, request: unknown = req): Promise<void> {
  const feedback = scope.feedback;
  if (feedback === undefined) return;
  const write = (r: HandlerResponse): void => {
    if (res.headersSent || res.destroyed) return;
    res.statusCode = r.status;
    for (const name in r.headers) res.setHeader(name, r.headers[name] as string);
    res.end(r.body);
  };
  const tooLarge = (): void => {
    // The rest of the body is not read: the connection is not reused.
    const r = feedback.tooLarge();
    write({ ...r, headers: { ...r.headers, connection: 'close' } });
  };
  try {
    const declared = Number(req.headers['content-length']);
    if (declared > feedback.maxBodyBytes) {
      tooLarge();
      req.resume();
      return;
    }
    // Events rather than for-await: leaving a for-await early destroys the request, and with it
    // the socket the 413 must be written to. An over-long body is drained and dropped.
    const body = await new Promise<Buffer | undefined>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        if (size > feedback.maxBodyBytes) return;
        size += chunk.length;
        if (size > feedback.maxBodyBytes) resolve(undefined);
        else chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    if (body === undefined) {
      tooLarge();
      return;
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    write(await feedback.handle(body, req.headers['content-type'], address, request));
  } catch {
    // A client gone mid-body: nothing to answer.
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 400;
      res.end();
    }
  }
}

/**
 * Answers llmscope's own routes on raw Node objects, before the app sees the request: the metrics
 * endpoint ({@link serveMetrics}), the feedback route ({@link serveFeedback}) and the routes added
 * with {@link Llmscope.addRoute} ({@link serveTableRoute}). Returns true when
 * it answered (the adapter then stops); false for app traffic.
 */
export function serveOwnRoute(scope: Llmscope, req: IncomingMessage, res: ServerResponse): boolean {
  const method = req.method;
  const url = req.url;
  if (isMetricsRequest(scope, method, url)) {
    void serveMetrics(scope, req, res);
    return true;
  }
  if (isFeedbackRequest(scope, method, url)) {
    void serveFeedback(scope, req, res);
    return true;
  }
  // One length check per request while no own route is added (the usual case).
  if (scope.ownRoutes.length !== 0 && url !== undefined) {
    const route = matchOwnRoute(scope.ownRoutes, url);
    if (route !== undefined) {
      void serveTableRoute(route, req, res, url);
      return true;
    }
  }
  return false;
}

/** Reads a request body of at most `maxBytes` (undefined when longer; the rest is drained). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > maxBytes) return;
      size += chunk.length;
      if (size > maxBytes) resolve(undefined);
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Answers a request under an own route ({@link Llmscope.addRoute}) on raw Node objects: builds
 * the framework-neutral request, runs the handler and writes its answer (a body, or a stream of
 * server-sent events stopped when the client goes away). A handler that throws gets a 500.
 * Never rejects.
 *
 * @param request - what the handler sees as the framework's request; default `req`
 */
export async function serveTableRoute(route: OwnRoute, req: IncomingMessage, res: ServerResponse, url: string, request: unknown = req): Promise<void> {
  try {
    const q = url.indexOf('?');
    const own: OwnRouteRequest = {
      method: req.method ?? 'GET',
      path: (q === -1 ? url : url.slice(0, q)).slice(route.prefix.length),
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      headers: req.headers,
      request,
      client: req.socket.remoteAddress ?? 'unknown',
      readBody: (maxBytes) => readBody(req, maxBytes),
    };
    const r = await route.handler(own);
    if (res.headersSent || res.destroyed) return;
    res.statusCode = r.status;
    for (const name in r.headers) res.setHeader(name, r.headers[name] as string);
    if ('start' in r) {
      res.flushHeaders();
      const stop = r.start((chunk) => {
        if (!res.destroyed && !res.writableEnded) res.write(chunk);
      });
      res.on('close', stop);
      return;
    }
    res.setHeader('content-length', typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.byteLength);
    res.end(req.method === 'HEAD' ? undefined : r.body);
  } catch {
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 500;
      res.end();
    }
  }
}

/** `handler` with the llmscope instance behind it as a read-only `llmscope` property (for `shutdown()`, the registry). */
export function withInstance<F extends object>(handler: F, scope: Llmscope): F & { readonly llmscope: Llmscope } {
  Object.defineProperty(handler, 'llmscope', { value: scope, enumerable: true });
  return handler as F & { readonly llmscope: Llmscope };
}
