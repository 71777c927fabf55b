/**
 * @llmscope/fastify: `await app.register(llmscope, options)`.
 * @packageDocumentation
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import type { LlmscopeOptions } from '@llmscope/core';
import { finishOnClose, Llmscope, matchOwnRoute, serveTableRoute, type RequestContext } from '@llmscope/core/adapter';

export * from '@llmscope/core';

/** The plugin's request hook, for a host that runs it itself (see `requestHook: 'external'`). */
export type LlmscopeRequestHook = (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => void;

/** Options of the Fastify plugin: llmscope's options, with `identify` receiving the Fastify request. */
export type LlmscopeFastifyOptions = LlmscopeOptions<FastifyRequest> & {
  /**
   * `'external'`: do not add the `onRequest` hook; expose it as `app.llmscopeRequestHook` for a
   * host that must run it before its own hooks (the NestJS module runs it through Nest's
   * instrumentation hook, ahead of Nest's middleware). Default: an `onRequest` hook.
   */
  requestHook?: 'onRequest' | 'external';
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The llmscope instance of this app (its registry, `shutdown()`), set by `@llmscope/fastify`. */
    readonly llmscope: Llmscope;
    /** The request hook, when the plugin was registered with `requestHook: 'external'`. */
    readonly llmscopeRequestHook: LlmscopeRequestHook | undefined;
  }
}

// Per-request state lives on the request, as a declared decorator, so Fastify keeps the shape of
// its Request class stable. Nothing is added to Node's raw response (that would change its shape).
const CTX = Symbol('llmscope.fastify.ctx');

type TrackedRequest = FastifyRequest & { [CTX]: RequestContext | undefined };

/** What Fastify keeps under its route-context symbol, as far as {@link routeReader} reads it. */
type RouteContext = { config?: { url?: unknown } } | undefined;

/**
 * A reader of the matched route's template, as `request.routeOptions.url` gives it, for one
 * Fastify instance (two copies of Fastify in one process have two symbols). That getter builds a
 * 12-field object and asks the router about version constraints on every read (~0.2 µs a request
 * in the bench's profiles, ~5% of what the metrics plugin costs Fastify), while the route's context it
 * reads `url` from (under Fastify's internal `Symbol('fastify.context')`, 4.10 to 5) is one
 * property away. The key is looked for on the first request that matched a route and kept only if
 * it gives what `routeOptions.url` gives there; otherwise (a Fastify that moves it) every request
 * reads `routeOptions.url`, the public API, whose floor (4.10) sets the peer range's minimum.
 */
function routeReader(): (request: FastifyRequest) => string | undefined {
  /** undefined: not looked for yet; null: none that agrees with `routeOptions.url`. */
  let key: symbol | null | undefined;
  return function routeOf(request) {
    if (key === undefined) {
      const expected = request.routeOptions.url;
      // The 404 handler's context proves nothing: look again on a request that matched a route.
      if (expected !== undefined) key = findRouteContextKey(request, expected);
      return expected;
    }
    if (key === null) return request.routeOptions.url;
    const url = (request as unknown as Record<symbol, RouteContext>)[key]?.config?.url;
    return typeof url === 'string' ? url : undefined;
  };
}

function findRouteContextKey(request: FastifyRequest, expected: string): symbol | null {
  for (const key of Object.getOwnPropertySymbols(request)) {
    if (key.description !== 'fastify.context') continue;
    const context = (request as unknown as Record<symbol, RouteContext>)[key];
    if (context !== null && typeof context === 'object' && context.config?.url === expected) return key;
  }
  return null;
}

// Keys Fastify itself reads from register options; they are not llmscope's and must not fail its validation.
// The plugin's own `requestHook` is not llmscope's either.
const REGISTER_KEYS = ['prefix', 'logLevel', 'logSerializers', 'requestHook'];

function llmscopeOptions(options: LlmscopeFastifyOptions | undefined): LlmscopeOptions<never> | undefined {
  if (options === undefined || options === null || typeof options !== 'object') return options as LlmscopeOptions<never> | undefined;
  if (!REGISTER_KEYS.some((k) => k in options)) return options as LlmscopeOptions<never>;
  const copy: Record<string, unknown> = { ...options };
  for (const k of REGISTER_KEYS) delete copy[k];
  return copy as LlmscopeOptions<never>;
}

// Async so that anything thrown here (invalid options, a route already at the metrics path)
// rejects `register()` (and so `ready()`/`listen()`) at start-up with its message.
const plugin: FastifyPluginAsync<LlmscopeFastifyOptions> = async function llmscopePlugin(fastify, options) {
  if (fastify.hasRequestDecorator(CTX)) {
    throw new Error('@llmscope/fastify is registered twice on this Fastify instance (or on one of its parents); register it once, on the root instance.');
  }
  const scope = new Llmscope(llmscopeOptions(options));
  const metricsPath = scope.metricsPath;
  // The template the metrics route gets: registered inside a prefixed plugin, the prefix applies.
  const metricsRoute = metricsPath === undefined ? undefined : fastify.prefix + metricsPath;
  const feedback = scope.feedback;
  const feedbackRoute = feedback === undefined ? undefined : fastify.prefix + feedback.path;
  const traceHeader = scope.options.traceIdHeader;
  const routeOf = routeReader();

  fastify.decorate('llmscope', scope);
  fastify.decorateRequest(CTX, undefined);

  // Uses no `this`: an external host may call it with its own.
  function onRequest(request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    // The matched route's template, prefixes included; undefined for the 404 handler. Fastify
    // matched the route before onRequest, so the label is known here, once per request.
    const route = routeOf(request);
    const raw = request.raw;
    if (route !== undefined && ((route === metricsRoute && (raw.method === 'GET' || raw.method === 'HEAD')) || (route === feedbackRoute && raw.method === 'POST'))) {
      // Scrapes and feedback posts are not app traffic: they are neither counted nor traced.
      next();
      return;
    }
    // Routes added to the instance at run time (the console): Fastify has no route for them, so
    // they reach its 404 handler; served here from the raw request, before any app hook, like
    // /metrics not app traffic. One length check per request while there are none.
    if (route === undefined && scope.ownRoutes.length !== 0 && raw.url !== undefined) {
      const own = matchOwnRoute(scope.ownRoutes, raw.url);
      if (own !== undefined) {
        reply.hijack();
        void serveTableRoute(own, raw, reply.raw, raw.url, request);
        return;
      }
    }
    const ctx = scope.startRequest(raw.method as string, raw.url, raw.headers, request);
    if (route !== undefined) scope.setRoute(ctx, route);
    (request as TrackedRequest)[CTX] = ctx;
    if (traceHeader !== undefined) {
      const traceId = ctx.traceId;
      // Fastify's headers, not the kit's setTraceIdHeader (res.setHeader): a header already on the
      // raw response makes Node merge Fastify's headers one by one in writeHead (~1 µs a request).
      // Error handlers keep it.
      if (traceId !== undefined) reply.header(traceHeader, traceId);
    }
    // Ends the request on the raw response's 'close' (the kit): it fires once for every response,
    // also when the client went away or the reply was hijacked, where onResponse never runs.
    finishOnClose(scope, ctx, reply.raw);
    // Everything after this hook (later hooks, body parsing, validation, the handler) runs inside
    // the context. Fastify (4 and 5) resumes after body parsing through an AsyncResource bound
    // here, so bodies that arrive in later socket reads do not lose it (the tests check with a
    // slow body, on both majors).
    scope.run(ctx, next);
  }

  // Fastify runs onError hooks before the error handler, so errors that a setErrorHandler turns
  // into a 4xx are seen too (they keep their status; only 5xx make the span an ERROR).
  function onError(this: FastifyInstance, request: FastifyRequest, _reply: FastifyReply, error: Error, next: () => void): void {
    const ctx = (request as TrackedRequest)[CTX];
    if (ctx !== undefined) scope.recordError(ctx, error);
    next();
  }

  const external = options?.requestHook === 'external';
  fastify.decorate('llmscopeRequestHook', external ? onRequest : undefined);
  if (!external) fastify.addHook('onRequest', onRequest);
  fastify.addHook('onError', onError);
  // Flush spans when the app closes, so that the last requests reach the exporters.
  fastify.addHook('onClose', (_instance, closed) => {
    scope.shutdown().then(() => closed(), () => closed());
  });

  if (metricsPath !== undefined) {
    // A real route (GET, and HEAD through Fastify's exposeHeadRoutes), so that it shows in
    // printRoutes(), respects the app's router options and clashes loudly with an app route.
    fastify.get(metricsPath, async function llmscopeMetrics(request, reply) {
      const r = await scope.handleMetrics(request.headers.authorization, request.headers.accept);
      reply.code(r.status).headers(r.headers);
      return r.body;
    });
  }
  if (feedback !== undefined) {
    // Fastify parses the JSON body (bodyLimit → 413, other types → 415, bad JSON → 400); the
    // route's checks (rate, authorize, fields) are core's, as on every adapter.
    fastify.post(feedback.path, { bodyLimit: feedback.maxBodyBytes }, async function llmscopeFeedback(request, reply) {
      const r = await feedback.handle(request.body, undefined, request.ip, request);
      reply.code(r.status).headers(r.headers);
      return r.body;
    });
  }
};

/**
 * The llmscope Fastify plugin, for Fastify 4 (4.10+) and 5. Register it first, on the root instance:
 * `await app.register(llmscope, options)`. It is wrapped with fastify-plugin, so its hooks apply
 * to every route of the app, including those of encapsulated child plugins and the 404 handler.
 * Every request gets a context (user, session, tags) that follows it into hooks and handlers,
 * a server span and HTTP metrics labelled by route template; `GET /metrics` serves Prometheus text.
 * Invalid options make `register()` fail with a message that says what to change.
 * The instance is reachable as `app.llmscope`.
 */
// Fastify 4 (4.10+, see the peer range) and 5: every API used here behaves the same on both.
export const llmscope = fp(plugin, { fastify: '4.x || 5.x', name: '@llmscope/fastify' });

export default llmscope;
