/**
 * llmscope's own routes beyond `/metrics` and the feedback route: a framework-neutral table of
 * path prefixes and handlers (the console mounts its UI and JSON API here). Every adapter built
 * on the kit serves it through `serveOwnRoute`, before the app sees the request; own routes are
 * not app traffic (neither counted nor traced).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** One request to an own route, as its handler sees it. */
export interface OwnRouteRequest {
  /** The request method as received. */
  readonly method: string;
  /** The path below the route's prefix (`''` or starting with `/`), without the query. */
  readonly path: string;
  /** The parsed query string. */
  readonly query: URLSearchParams;
  /** Node's lower-cased request headers. */
  readonly headers: IncomingHttpHeaders;
  /** The framework's request object (for an `authorize` hook). */
  readonly request: unknown;
  /** The client's address. */
  readonly client: string;
  /** Reads the body, at most `maxBytes` (undefined when longer: answer 413). */
  readBody(maxBytes: number): Promise<Buffer | undefined>;
}

/** A whole answer: status, headers and body. */
export interface OwnRouteBody {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/**
 * A streamed answer (server-sent events): `start` gets a `send` function for each chunk and
 * returns the function that stops the stream, called when the client goes away.
 */
export interface OwnRouteStream {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  start(send: (chunk: string) => void): () => void;
}

/** What an own route answers. */
export type OwnRouteResponse = OwnRouteBody | OwnRouteStream;

/** Answers requests under an own route's prefix. May throw or reject: the kit answers 500. */
export type OwnRouteHandler = (request: OwnRouteRequest) => OwnRouteResponse | Promise<OwnRouteResponse>;

/** One registered own route. */
export interface OwnRoute {
  readonly prefix: string;
  readonly handler: OwnRouteHandler;
}

/** Throws when `prefix` is not a usable path prefix (`/x`, no trailing slash, no query). */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || !/^\/[^?#\s]*[^/?#\s]$/.test(prefix)) {
    throw new TypeError(`llmscope: an own route's prefix must be a path such as "/llmscope" (starting with "/", without a trailing "/" or a query); got ${JSON.stringify(prefix)}`);
  }
}

/**
 * The route under which a request target falls, if any: the target equals the prefix or
 * continues it with `/` or `?`.
 */
export function matchOwnRoute(routes: readonly OwnRoute[], url: string): OwnRoute | undefined {
  for (const route of routes) {
    const prefix = route.prefix;
    if (!url.startsWith(prefix)) continue;
    if (url.length === prefix.length) return route;
    const next = url.charCodeAt(prefix.length);
    if (next === 0x2f || next === 0x3f) return route;
  }
  return undefined;
}
