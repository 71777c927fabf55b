/**
 * @llmscope/console: the local console. One call mounts it on an llmscope instance:
 * `llmscopeConsole(middleware.llmscope)`. It keeps the last requests with their traces, LLM calls
 * and scores in a bounded in-memory store, and serves a prebuilt UI and a read-only JSON API under
 * `/llmscope` on the app's own port, through every adapter built on the kit (Express, Nest on
 * Express, node:http). Off in production unless guarded by `authorize` or `token`.
 * @packageDocumentation
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Llmscope, LogSink, OwnRouteRequest, OwnRouteResponse } from '@llmscope/core';
import { Redactor } from '@llmscope/core/adapter';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { answerApi, json, shownRequest } from './api';
import { loadAssets } from './assets';
import { LiveFeed, MAX_CLIENTS } from './live';
import { teeLogs } from './logs';
import { resolveConsoleOptions, type ConsoleOptions, type ResolvedConsoleOptions } from './options';
import { ConsoleStore } from './store';

export type { ConsoleOptions, ConsoleAuthorize, ResolvedConsoleOptions } from './options';
export type { CallView, LogView, RequestView, ScoreView, SpanView, TraceEntry, TraceView } from './views';
export type { ConsoleStore } from './store';

/**
 * Headers of every console answer: never cached by proxies, never framed, a Content-Security-Policy
 * that allows only the console's own script, style and API (no inline script, no eval).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** A mounted console. */
export interface LlmscopeConsole {
  /** Whether it is mounted (false: off in production without `authorize`/`token`, or `enabled: false`). */
  readonly enabled: boolean;
  /** Where it is mounted, e.g. `/llmscope`. */
  readonly path: string;
  /** The options after defaults. */
  readonly options: ResolvedConsoleOptions;
  /** Its store (undefined when not enabled). */
  readonly store: ConsoleStore | undefined;
  /**
   * The logger llmscope writes to (`logging.logger`), with the console in front: log the app's
   * lines through it and those with a trace (a `trace_id` field, or logged while a request is
   * handled) show on the trace page. Lines go on to llmscope's logger unchanged (nowhere when
   * `logging` is off). Usable whether or not the console is enabled.
   */
  readonly logger: LogSink;
  /** Unmounts it and stops feeding its store. */
  close(): void;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares digests (same length whatever was sent) so that timing tells nothing, not even the length. */
function tokenOk(req: OwnRouteRequest, expected: Buffer): boolean {
  const header = req.headers.authorization;
  const given = header !== undefined && header.startsWith('Bearer ') ? header.slice(7) : req.query.get('token') ?? '';
  return timingSafeEqual(sha256(given), expected);
}

/**
 * Mounts the console on an llmscope instance (`middleware.llmscope` of the Express middleware,
 * `withLlmscope(handler).llmscope` on node:http) and starts feeding its store. Bad options throw.
 *
 * @example
 * ```ts
 * const mw = llmscope({ serviceName: 'rag-api' });
 * app.use(mw);
 * llmscopeConsole(mw.llmscope); // http://localhost:3000/llmscope
 * ```
 */
export function llmscopeConsole(scope: Llmscope, options?: ConsoleOptions): LlmscopeConsole {
  if (scope === null || typeof scope !== 'object' || typeof scope.addRoute !== 'function') {
    throw new TypeError('llmscope console: pass the llmscope instance (e.g. `middleware.llmscope` of the Express middleware)');
  }
  const production = process.env.NODE_ENV === 'production';
  const o = resolveConsoleOptions(options, production);
  if (!o.enabled) {
    if (production && options?.enabled !== false) {
      process.emitWarning(`llmscope console: not mounted at ${o.path} because NODE_ENV is production and neither \`authorize\` nor \`token\` is set.`, 'LlmscopeWarning');
    }
    return { enabled: false, path: o.path, options: o, store: undefined, logger: passThrough(scope), close: () => undefined };
  }
  const store = new ConsoleStore(o);
  const assets = loadAssets(o.path);
  const redactor = new Redactor(scope.options.redact);
  const live = new LiveFeed(store, (r) => shownRequest(r, redactor));
  const expected = o.token === undefined ? undefined : sha256(o.token);
  const logs = teeLogs(scope, store);
  const removers = [scope.onRequest(store.addRequest), scope.onLlmCall(store.addCall), scope.onScore(store.addScore), scope.onPromptGuard(store.addGuardEvent), logs.remove];
  // Spans of kept traces (after sampling), for the waterfall; nothing when tracing is off.
  const sampling = scope.sampling;
  if (sampling !== undefined) {
    const processor: SpanProcessor = {
      onStart: () => undefined,
      onEnd: (span: ReadableSpan) => store.addSpan(span),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    sampling.stage.add(processor);
    sampling.attach();
    removers.push(() => sampling.stage.remove(processor));
  }

  const handler = async (req: OwnRouteRequest): Promise<OwnRouteResponse> => {
    if (expected !== undefined && !tokenOk(req, expected)) return { ...json(401, { error: 'the console needs its token' }), headers: { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' } };
    if (o.authorize !== undefined) {
      let allowed = false;
      try {
        allowed = (await o.authorize(req.request)) === true;
      } catch {
        // A throwing authorize refuses.
      }
      if (!allowed) return withSecurity(json(403, { error: 'not allowed to open the console' }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return { ...withSecurity(json(405, { error: 'the console is read-only' })), headers: { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', allow: 'GET, HEAD' } };
    const path = req.path === '/' ? '' : req.path;
    const asset = assets.get(path);
    if (asset !== undefined) {
      if (req.query.size > (req.query.has('token') ? 1 : 0) && path !== '') return withSecurity(json(400, { error: 'assets take no query' }));
      return { status: 200, headers: { ...SECURITY_HEADERS, 'content-type': asset.type }, body: asset.body };
    }
    if (path === '/api/events') {
      if (live.size >= MAX_CLIENTS) return withSecurity(json(503, { error: `at most ${MAX_CLIENTS} live streams` }));
      return live.stream({ ...SECURITY_HEADERS });
    }
    if (path.startsWith('/api/')) return withSecurity(answerApi(path.slice(4), req.query, store, scope, redactor));
    return withSecurity(json(404, { error: `nothing at ${o.path}${path}` }));
  };
  removers.push(scope.addRoute(o.path, handler));
  let closed = false;
  return {
    enabled: true, path: o.path, options: o, store, logger: logs.logger,
    close: () => {
      if (closed) return;
      closed = true;
      for (const remove of removers) remove();
      live.close();
    },
  };
}

/** The logger of a console that is not mounted: llmscope's, looked up at each line (nothing when logging is off). */
function passThrough(scope: Llmscope): LogSink {
  const next = (): LogSink | undefined => scope.telemetry?.logging?.logger;
  return {
    info: (obj, msg) => next()?.info(obj, msg),
    warn: (obj, msg) => next()?.warn(obj, msg),
    error: (obj, msg) => next()?.error(obj, msg),
  };
}

function withSecurity(r: { status: number; headers: Readonly<Record<string, string>>; body: string | Uint8Array }): { status: number; headers: Record<string, string>; body: string | Uint8Array } {
  return { status: r.status, headers: { ...SECURITY_HEADERS, ...r.headers }, body: r.body };
}
