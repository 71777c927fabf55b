import * as diagnostics from 'node:diagnostics_channel';
import { ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapSetter, type Tracer } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { currentOwner, getContext } from '../context/context';
import { normaliseMethod } from '../http/http-metrics';
import { getTracer } from './provider';
import { failSpan } from './span-run';

/**
 * Outgoing calls carry the trace (docs/tracing.md, "Outgoing calls"). An HTTP request the app
 * makes inside an llmscope request, with `fetch` (undici) or `http`/`https`, gets a CLIENT span
 * (child of the active span: the request's, or the `step()` it runs in) and that span's context
 * as `traceparent` (`tracestate`, `baggage` through the registered propagator), so the next
 * service joins the trace.
 *
 * How, and why not the OpenTelemetry instrumentations: `@opentelemetry/instrumentation-http`
 * patches the server side too (a span and a cost on every incoming request, next to llmscope's
 * own) and `-undici` would add a dependency tree for what the diagnostics channels give, for no
 * saving (CPU per fetch call, measured side by side: instrumentation-undici 0.33 took about twice
 * what this does).
 * Here nothing runs per incoming request; per outgoing call one context read decides, and only
 * calls inside an llmscope request do more.
 * - `fetch` / undici: `undici:request:create` (`request.addHeader()`), `:headers`, `:trailers`
 *   (the body is complete) and `:error`, on every Node version.
 * - `http` / `https`: `http.client.request.created` (Node 22.12+, 23.2+), published while headers
 *   can still be set; `http.client.request.start` comes after they were written (checked on 20,
 *   22 and 24). On older Node, `ClientRequest.prototype._implicitHeader` (what `end()`/`write()`
 *   call just before the headers are written) is wrapped instead. The span ends on the request's
 *   `close` (the response complete, or the request failed or aborted); the error comes from
 *   `http.client.request.error` where Node publishes it.
 *
 * Spans are kept by request object in a WeakMap: a request that never ends takes its span with
 * it when it is collected, and Node's and undici's objects get no property of ours.
 */

/** Instances (and so their requests) whose outgoing calls are traced (`tracing.outgoing`, default on). */
const owners = new WeakSet<object>();
let installed = false;

/**
 * Traces the outgoing calls made inside `owner`'s requests from now on. The hooks are installed
 * once per process (at the first instance); they are dormant outside llmscope requests.
 */
export function traceOutgoingCalls(owner: object): void {
  owners.add(owner);
  if (installed) return;
  installed = true;
  diagnostics.subscribe('undici:request:create', onUndiciCreate);
  diagnostics.subscribe('undici:request:headers', onUndiciHeaders);
  diagnostics.subscribe('undici:request:trailers', onUndiciDone);
  diagnostics.subscribe('undici:request:error', onUndiciError);
  if (httpCreatedChannel()) diagnostics.subscribe('http.client.request.created', onHttpCreated);
  else wrapImplicitHeader();
  diagnostics.subscribe('http.client.request.error', onHttpError);
}

/** Whether Node publishes `http.client.request.created` (22.12+, 23.2+), before the headers are written. */
function httpCreatedChannel(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 2) || (major === 22 && minor >= 12);
}

/** What an outgoing call runs under: the context to inject and the span to end (none: inject only). */
interface Outgoing {
  readonly span: Span | undefined;
  readonly inject: Context;
}

/**
 * The parent of an outgoing call, or `undefined` when llmscope leaves the call alone: outside an
 * llmscope request, an instance with `tracing.outgoing: false`, tracing suppressed (an excluded
 * request, llmscope's exporters, the app's own exporters), or no span to continue.
 */
function parentContext(): Context | undefined {
  const ctx = getContext();
  if (ctx === undefined) return undefined;
  const owner = ctx.owner ?? currentOwner();
  if (owner === undefined || !owners.has(owner)) return undefined;
  const active = context.active();
  if (isTracingSuppressed(active) || trace.getSpan(active) === undefined) return undefined;
  return active;
}

let tracer: Tracer | undefined;

/**
 * Starts the CLIENT span of a call under `active`, or none: when the active span does not record
 * (sampled out) its context is propagated as is; when it is itself a CLIENT span (an LLM call
 * made through an SDK over HTTP) it already stands for this request, and its context is
 * propagated so an LLM gateway joins the trace under it.
 */
function startOutgoing(active: Context, method: string, attributes: Attributes): Outgoing {
  const parent = trace.getSpan(active) as (Span & { kind?: SpanKind }) | undefined;
  if (parent === undefined || !parent.isRecording() || parent.kind === SpanKind.CLIENT) return { span: undefined, inject: active };
  // The tracer is looked up once: the provider's lookup builds a key string per call.
  tracer ??= getTracer();
  const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.CLIENT, attributes }, active);
  return { span, inject: trace.setSpan(active, span) };
}

/**
 * The request attributes of the HTTP client semantic conventions. The query is never recorded
 * (API keys and tokens travel there). A path in absolute form (a request sent through a proxy) is
 * the URL itself.
 */
function requestAttributes(method: string, originalMethod: string, scheme: string, host: string, port: number, path: string): Attributes {
  const q = path.indexOf('?');
  const bare = q === -1 ? path : path.slice(0, q);
  const attributes: Attributes = {
    'http.request.method': method,
    'url.full': bare.startsWith('/') ? `${scheme}://${host.includes(':') ? `[${host}]` : host}${port === defaultPort(scheme) ? '' : `:${port}`}${bare}` : bare,
    'server.address': host,
    'server.port': port,
  };
  if (method === '_OTHER') attributes['http.request.method_original'] = originalMethod;
  return attributes;
}

function defaultPort(scheme: string): number {
  return scheme === 'https' ? 443 : 80;
}

/** Sets the response status (4xx and 5xx are errors for a client) on `span`. */
function setStatus(span: Span, statusCode: number): void {
  span.setAttribute('http.response.status_code', statusCode);
  if (statusCode >= 400) {
    span.setAttribute('error.type', String(statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/**
 * Marks `span` failed; `error.type` is the error's code (`ECONNREFUSED`) when it has one, else its
 * name (`AbortError`: fetch's DOMException, whose code is a number). Read by shape, not
 * `instanceof`: undici's errors may come from another realm.
 */
function failCall(span: Span, error: unknown): void {
  failSpan(span, error);
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === 'string') span.setAttribute('error.type', code);
  else if (typeof name === 'string' && name !== '' && name !== 'Error') span.setAttribute('error.type', name);
}

/** `host[:port]` of an authority (`[::1]:8080` included), with the scheme's default port. */
function splitAuthority(authority: string, scheme: string): { host: string; port: number } {
  const bracket = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > bracket) {
    const port = Number(authority.slice(colon + 1));
    return { host: stripBrackets(authority.slice(0, colon)), port: Number.isInteger(port) && port > 0 ? port : defaultPort(scheme) };
  }
  return { host: stripBrackets(authority), port: defaultPort(scheme) };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

// ---- fetch / undici -------------------------------------------------------------------------
// A subscriber that throws crashes the process (Node rethrows it on the next tick): every handler
// below reads its message defensively and the ones that do real work catch everything.

/** undici's request as its diagnostics channels carry it (undici 5: string headers; 6+: an array). */
interface UndiciRequest {
  origin?: unknown;
  path?: unknown;
  method?: unknown;
  headers?: unknown;
  addHeader?: (name: string, value: string) => unknown;
}

/**
 * The span of each call in flight, by request object: weak, so a call that never ends is
 * forgotten with its request, and no property is added to Node's or undici's objects (a new
 * property changes their hidden class, and measurably slowed Node's own http code).
 */
const calls = new WeakMap<object, Span>();
const createChannel = diagnostics.channel('undici:request:create');

const undiciSetter: TextMapSetter<UndiciRequest> = {
  set(request, key, value) {
    if (typeof request.addHeader === 'function') request.addHeader(key, value);
    else if (Array.isArray(request.headers)) request.headers.push(key, value);
    else if (typeof request.headers === 'string') request.headers += `${key}: ${value}\r\n`;
  },
};

function onUndiciCreate(message: unknown): void {
  try {
    const request = (message as { request?: UndiciRequest } | undefined)?.request;
    if (request === undefined || request.method === 'CONNECT' || undiciInstrumented()) return;
    const active = parentContext();
    if (active === undefined || undiciHasTraceparent(request.headers)) return;
    const origin = String(request.origin);
    const sep = origin.indexOf('://');
    const scheme = sep === -1 ? 'http' : origin.slice(0, sep);
    let authority = sep === -1 ? origin : origin.slice(sep + 3);
    const slash = authority.indexOf('/');
    if (slash !== -1) authority = authority.slice(0, slash);
    // Never credentials in url.full (undici's origin has none, but an app's dispatcher could).
    authority = authority.slice(authority.lastIndexOf('@') + 1);
    const { host, port } = splitAuthority(authority, scheme);
    const original = typeof request.method === 'string' ? request.method : 'GET';
    const method = normaliseMethod(original);
    const call = startOutgoing(active, method, requestAttributes(method, original, scheme, host, port, typeof request.path === 'string' ? request.path : '/'));
    propagation.inject(call.inject, request, undiciSetter);
    if (call.span !== undefined) calls.set(request, call.span);
  } catch {
    // Tracing never breaks the app's call.
  }
}

function onUndiciHeaders(message: unknown): void {
  const { request, response } = (message ?? {}) as { request?: UndiciRequest; response?: { statusCode?: unknown } };
  const span = request === undefined ? undefined : calls.get(request);
  if (span !== undefined && typeof response?.statusCode === 'number') setStatus(span, response.statusCode);
}

function onUndiciDone(message: unknown): void {
  const request = (message as { request?: UndiciRequest } | undefined)?.request;
  const span = request === undefined ? undefined : calls.get(request);
  if (request === undefined || span === undefined) return;
  calls.delete(request);
  span.end();
}

function onUndiciError(message: unknown): void {
  const { request, error } = (message ?? {}) as { request?: UndiciRequest; error?: unknown };
  const span = request === undefined ? undefined : calls.get(request);
  if (request === undefined || span === undefined) return;
  calls.delete(request);
  failCall(span, error);
  span.end();
}

/** Whether undici's headers (an array of names and values, or undici 5's raw string) carry a `traceparent`. */
function undiciHasTraceparent(headers: unknown): boolean {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const name: unknown = headers[i];
      if (typeof name === 'string' && name.length === 11 && name.toLowerCase() === 'traceparent') return true;
    }
    return false;
  }
  return typeof headers === 'string' && headers.toLowerCase().includes('traceparent:');
}

let seenSubscribers: unknown;
let foreignUndici = false;

/**
 * Whether `@opentelemetry/instrumentation-undici` (its `onRequestCreated` handler) listens too:
 * then it owns fetch tracing, whichever subscribed first. Read from the channel's subscriber
 * list, only when that list changes (Node replaces the array on each subscribe).
 */
function undiciInstrumented(): boolean {
  const subscribers = (createChannel as unknown as { _subscribers?: unknown })._subscribers;
  if (subscribers !== seenSubscribers) {
    seenSubscribers = subscribers;
    foreignUndici = Array.isArray(subscribers) && subscribers.some((fn: unknown) => fn !== onUndiciCreate && typeof fn === 'function' && fn.name.endsWith('onRequestCreated'));
  }
  return foreignUndici;
}

// ---- http / https ---------------------------------------------------------------------------

/** The parts of a ClientRequest read here (`_implicitHeader` is Node's own, wrapped on Node < 22.12). */
interface ClientRequestInternals extends ClientRequest {
  _implicitHeader?: () => void;
  /** The response, once its headers came (documented, missing from @types/node). */
  res?: IncomingMessage | null;
}

/** http calls that failed already (the error channel comes before `close`). */
const failedCalls = new WeakSet<object>();
// Module-local on purpose: a second copy of llmscope in the process (two installed versions, or
// Jest's per-file module registries) wraps too, and each wrapper serves its own copy's requests.
const WRAPPED = Symbol('llmscope.outgoing.implicitHeader');

const httpSetter: TextMapSetter<ClientRequest> = {
  set(request, key, value) {
    request.setHeader(key, value);
  },
};

function onHttpCreated(message: unknown): void {
  const request = (message as { request?: ClientRequestInternals } | undefined)?.request;
  if (request !== undefined) onHttpRequest(request);
}

/** Wraps `ClientRequest.prototype._implicitHeader` (Node without `http.client.request.created`); once per process. */
function wrapImplicitHeader(): void {
  const proto = ClientRequest.prototype as ClientRequestInternals & { [WRAPPED]?: true };
  const original = proto._implicitHeader;
  if (typeof original !== 'function' || proto[WRAPPED]) return;
  proto[WRAPPED] = true;
  proto._implicitHeader = function implicitHeader(this: ClientRequestInternals): void {
    onHttpRequest(this);
    original.call(this);
  };
}

/** Whether `@opentelemetry/instrumentation-http` wrapped `http.request` (shimmer marks it): then it owns http tracing. */
function httpInstrumented(): boolean {
  return (httpRequest as { __wrapped?: unknown }).__wrapped === true || (httpsRequest as { __wrapped?: unknown }).__wrapped === true;
}

function onHttpRequest(request: ClientRequestInternals): void {
  try {
    // Headers already written (raw header arrays, `Expect`) cannot take one more.
    if (request.headersSent || request.method === 'CONNECT' || calls.has(request)) return;
    const active = parentContext();
    if (active === undefined || request.getHeader('traceparent') !== undefined || httpInstrumented()) return;
    const scheme = request.protocol === 'https:' ? 'https' : 'http';
    // The port is only in the Host header (Node keeps no other copy on the request).
    const hostHeader = request.getHeader('host');
    const { port } = splitAuthority(typeof hostHeader === 'string' ? hostHeader : request.host, scheme);
    const method = normaliseMethod(request.method);
    const call = startOutgoing(active, method, requestAttributes(method, request.method, scheme, stripBrackets(request.host), port, request.path));
    propagation.inject(call.inject, request, httpSetter);
    if (call.span === undefined) return;
    calls.set(request, call.span);
    request.once('close', onHttpClose);
  } catch {
    // Tracing never breaks the app's call.
  }
}

function onHttpError(message: unknown): void {
  const { request, error } = (message ?? {}) as { request?: ClientRequestInternals; error?: unknown };
  const span = request === undefined ? undefined : calls.get(request);
  if (request === undefined || span === undefined || failedCalls.has(request)) return;
  failedCalls.add(request);
  failCall(span, error);
}

/** The request is over: its response complete, or it failed or was aborted. */
function onHttpClose(this: ClientRequestInternals): void {
  const span = calls.get(this);
  if (span === undefined) return;
  calls.delete(this);
  const response = this.res ?? undefined;
  const failed = failedCalls.has(this);
  // The status received stays recorded when the call failed afterwards (aborted mid-body).
  if (typeof response?.statusCode === 'number') {
    if (failed) span.setAttribute('http.response.status_code', response.statusCode);
    else setStatus(span, response.statusCode);
  }
  // Closed with no error reported (destroyed, or an old Node without the error channel): no
  // exception to record, so no Error is built (its stack trace would be the dearest part).
  if (!failed && (response === undefined || response.complete === false)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: response === undefined ? 'the request ended without a response' : 'the response was cut short' });
    span.setAttribute('error.type', '_OTHER');
  }
  span.end();
}
