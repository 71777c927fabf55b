/** The console's JSON API (`{path}/api/...`): read-only, every query parameter checked (400 otherwise). */
import type { Llmscope, OwnRouteBody } from '@llmscope/core';
import type { Redactor } from '@llmscope/core/adapter';
import { costBy, DIMENSIONS, latency, promptVersions, sessions, totalOf, type Dimension } from './aggregates';
import type { ConsoleStore } from './store';
import type { CallView, LogView, RequestView, ScoreView, SpanView, TraceEntry, TraceView } from './views';

/**
 * `text` redacted as the exporters redact it. A text the store clipped (ending in `…`) also loses
 * the word the clip cut: half a key or half an e-mail address no longer matches a pattern.
 */
export function shownText(text: string, redactor: Redactor): string {
  const out = redactor.string(text);
  if (!out.endsWith('…')) return out;
  const space = Math.max(out.lastIndexOf(' ', out.length - 2), out.lastIndexOf('\n', out.length - 2));
  // A single word longer than this (a base64 blob) is left as clipped.
  return space === -1 || out.length - space > 257 ? out : `${out.slice(0, space + 1)}…`;
}

function shownId(id: string | undefined, redactor: Redactor): string | undefined {
  return id === undefined ? undefined : redactor.string(id);
}

/** A call as shown: captured messages and ids redacted as the exporters redact them (done here, when a trace is viewed, not per call). */
function shownCall(c: CallView, redactor: Redactor): CallView {
  return {
    ...c,
    userId: shownId(c.userId, redactor),
    sessionId: shownId(c.sessionId, redactor),
    inputMessages: c.inputMessages === undefined ? undefined : shownText(c.inputMessages, redactor),
    outputMessages: c.outputMessages === undefined ? undefined : shownText(c.outputMessages, redactor),
  };
}

/** A request as shown: its error and ids redacted (the live stream shows requests this way too). */
export function shownRequest(r: RequestView, redactor: Redactor): RequestView {
  return { ...r, userId: shownId(r.userId, redactor), sessionId: shownId(r.sessionId, redactor), error: r.error === undefined ? undefined : shownText(r.error, redactor) };
}

function shownSpan(s: SpanView, redactor: Redactor): SpanView {
  const attributes: Record<string, string | number | boolean> = {};
  for (const key in s.attributes) {
    const v = s.attributes[key] as string | number | boolean;
    attributes[key] = typeof v === 'string' ? shownText(v, redactor) : v;
  }
  return { ...s, name: redactor.string(s.name), attributes };
}

function shownScore(s: ScoreView, redactor: Redactor): ScoreView {
  return s.comment === undefined ? s : { ...s, comment: shownText(s.comment, redactor) };
}

/** A log line as shown: llmscope's own lines are redacted already, the app's may not be. */
function shownLog(l: LogView, redactor: Redactor): LogView {
  const fields: Record<string, string | number | boolean> = {};
  for (const key in l.fields) {
    const v = l.fields[key] as string | number | boolean;
    fields[key] = typeof v === 'string' ? shownText(v, redactor) : v;
  }
  return { ...l, msg: l.msg === undefined ? undefined : shownText(l.msg, redactor), fields };
}

function shownTrace(t: TraceEntry, logs: readonly LogView[], redactor: Redactor): TraceView {
  return {
    id: t.id,
    request: t.request === undefined ? undefined : shownRequest(t.request, redactor),
    calls: t.calls.map((c) => shownCall(c, redactor)),
    scores: t.scores.map((x) => shownScore(x, redactor)),
    spans: t.spans.map((s) => shownSpan(s, redactor)),
    logs: logs.map((l) => shownLog(l, redactor)),
  };
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

/** A JSON answer. */
export function json(status: number, body: unknown): OwnRouteBody {
  return { status, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/** A bad query: what the client sent wrong. */
class BadQuery extends Error {}

/** Query parameters of one endpoint: each read once, unknown ones refused. */
class Query {
  private readonly used = new Set<string>(['token']);
  constructor(private readonly q: URLSearchParams) {}

  text(name: string, max = 256): string | undefined {
    this.used.add(name);
    const all = this.q.getAll(name);
    if (all.length > 1) throw new BadQuery(`\`${name}\` is given more than once`);
    const v = all[0];
    if (v === undefined || v === '') return undefined;
    if (v.length > max) throw new BadQuery(`\`${name}\` is longer than ${max} characters`);
    return v;
  }

  int(name: string, dflt: number, min: number, max: number): number {
    const v = this.text(name, 16);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new BadQuery(`\`${name}\` must be an integer from ${min} to ${max}; got ${JSON.stringify(v)}`);
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.text(name, 8);
    if (v === undefined) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new BadQuery(`\`${name}\` must be true or false; got ${JSON.stringify(v)}`);
  }

  oneOf<T extends string>(name: string, values: readonly T[], dflt: T): T {
    const v = this.text(name, 32);
    if (v === undefined) return dflt;
    if (!(values as readonly string[]).includes(v)) throw new BadQuery(`\`${name}\` must be one of ${values.join(', ')}; got ${JSON.stringify(v)}`);
    return v as T;
  }

  /** Refuses parameters no endpoint reads (a typo would otherwise filter nothing, silently). */
  done(): void {
    for (const name of this.q.keys()) if (!this.used.has(name)) throw new BadQuery(`unknown query parameter \`${name}\``);
  }
}

/** Filters of the request list. */
interface RequestFilter {
  route?: string;
  status?: string;
  user?: string;
  session?: string;
  feature?: string;
  errors?: boolean;
  q?: string;
}

function statusMatches(status: number, filter: string): boolean {
  if (filter.length === 3 && filter.endsWith('xx')) return Math.floor(status / 100) === Number(filter[0]);
  return status === Number(filter);
}

/** Whether `id` is `wanted`, as stored or as shown (redacted: the UI links with the ids it was given). */
function idMatches(id: string | undefined, wanted: string, redactor: Redactor | undefined): boolean {
  return id !== undefined && (id === wanted || (redactor !== undefined && redactor.string(id) === wanted));
}

/** Whether a request passes the list's filters (also used for the live stream). */
export function matches(r: RequestView, f: RequestFilter, redactor?: Redactor): boolean {
  if (f.route !== undefined && r.route !== f.route) return false;
  if (f.status !== undefined && !statusMatches(r.status, f.status)) return false;
  if (f.user !== undefined && !idMatches(r.userId, f.user, redactor)) return false;
  if (f.session !== undefined && !idMatches(r.sessionId, f.session, redactor)) return false;
  if (f.feature !== undefined && r.feature !== f.feature) return false;
  if (f.errors === true && r.status < 500 && r.error === undefined) return false;
  if (f.q !== undefined) {
    const hay = `${r.method} ${r.route} ${r.userId ?? ''} ${r.sessionId ?? ''} ${r.feature ?? ''} ${r.id}`.toLowerCase();
    if (!hay.includes(f.q.toLowerCase())) return false;
  }
  return true;
}

/** Reads the request-list filters from a query. */
function requestFilter(q: Query): RequestFilter {
  const status = q.text('status', 3);
  if (status !== undefined && !/^[1-5](xx|\d\d)$/.test(status)) throw new BadQuery(`\`status\` must be a status code or a class such as 5xx; got ${JSON.stringify(status)}`);
  return { route: q.text('route'), status, user: q.text('user'), session: q.text('session'), feature: q.text('feature'), errors: q.bool('errors'), q: q.text('q') };
}

/** Answers `GET {path}/api/{rest}`. */
export function answerApi(rest: string, query: URLSearchParams, store: ConsoleStore, scope: Llmscope, redactor: Redactor): OwnRouteBody {
  const q = new Query(query);
  try {
    const r = route(rest, q, store, scope, redactor);
    return r;
  } catch (error) {
    if (error instanceof BadQuery) return json(400, { error: error.message });
    throw error;
  }
}

function route(rest: string, q: Query, store: ConsoleStore, scope: Llmscope, redactor: Redactor): OwnRouteBody {
  const windowMs = store.limits.windowMs;
  if (rest === '/requests') {
    const filter = requestFilter(q);
    const limit = q.int('limit', 200, 1, store.limits.maxRequests);
    q.done();
    const all = store.requests();
    const list = all.filter((r) => matches(r, filter, redactor));
    return json(200, { total: all.length, matched: list.length, requests: list.slice(0, limit).map((r) => shownRequest(r, redactor)) });
  }
  if (rest.startsWith('/traces/')) {
    q.done();
    const id = decodeURIComponent(rest.slice('/traces/'.length));
    const t = store.trace(id);
    if (t === undefined) return json(404, { error: `no trace ${id} in the console's store (it keeps the last ${store.limits.maxRequests} requests)` });
    return json(200, shownTrace(t, store.logsOf(t.id), redactor));
  }
  if (rest === '/sessions') {
    const limit = q.int('limit', 200, 1, 10_000);
    q.done();
    return json(200, { sessions: sessions(store.requests()).slice(0, limit).map((row) => ({ ...row, sessionId: redactor.string(row.sessionId), userId: shownId(row.userId, redactor) })) });
  }
  if (rest.startsWith('/sessions/')) {
    q.done();
    const id = decodeURIComponent(rest.slice('/sessions/'.length));
    const requests = store.requests().filter((r) => idMatches(r.sessionId, id, redactor)).reverse();
    const calls = requests.flatMap((r) => store.trace(r.id)?.calls ?? []).map((c) => shownCall(c, redactor));
    return json(200, { sessionId: redactor.string(id), requests: requests.map((r) => shownRequest(r, redactor)), calls });
  }
  if (rest === '/cost') {
    const by = q.oneOf<Dimension>('by', DIMENSIONS, 'model');
    const buckets = q.int('buckets', 30, 1, 240);
    const limit = q.int('limit', 20, 1, 1000);
    q.done();
    const now = Date.now();
    const counted = costBy(store.callsSince(windowMs), by, windowMs, buckets, now);
    // User and session ids are shown as everywhere else: redacted.
    const rows = by === 'user' || by === 'session' ? counted.map((row) => ({ ...row, key: redactor.string(row.key) })) : counted;
    return json(200, { by, windowMinutes: windowMs / 60_000, buckets, fromMs: now - windowMs, bucketMs: windowMs / buckets, total: totalOf(rows, buckets), rows: rows.slice(0, limit) });
  }
  if (rest === '/prompts') {
    q.done();
    const rows = promptVersions(store.callsSince(windowMs), (id) => store.trace(id)?.scores ?? []);
    const guards: Record<string, unknown> = {};
    for (const row of rows) {
      if (guards[row.prompt] !== undefined) continue;
      const status = scope.promptGuardStatus(row.prompt);
      if (status !== undefined) guards[row.prompt] = status;
    }
    return json(200, { windowMinutes: windowMs / 60_000, versions: rows, guards, events: store.guardEvents() });
  }
  if (rest === '/latency') {
    q.done();
    const requests = store.requests().filter((r) => r.startTimeMs >= Date.now() - windowMs);
    return json(200, {
      routes: latency(requests, (r) => `${r.method} ${r.route}`, (r) => r.durationMs),
      models: latency(store.callsSince(windowMs), (c) => c.model, (c) => c.durationMs),
    });
  }
  if (rest === '/summary') {
    q.done();
    return json(200, store.stats());
  }
  return json(404, { error: `no console API at ${rest}` });
}
