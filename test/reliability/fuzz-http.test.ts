/**
 * Property-based fuzzing of what a client controls (issue 18 item 2), against a real server of
 * every adapter target of the contract suite: propagation, user and session headers, and URLs
 * and methods, sent as raw bytes over a socket. The oracle for the headers is the same request
 * sent to a bare `node:http` server (no llmscope) that answers what the route's handler intends:
 * whatever Node's own parser does with the bytes (400, 431) the app does too; whatever reaches
 * the app is served by its handler, unchanged by llmscope.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { find, parseMetrics } from '@llmscope/testkit';
import { contractIdentify } from '../contract/scenario';
import type { ContractTarget, RunningApp } from '../contract/target';
import { targets } from '../contract/targets';
import { checkedLogger, type CheckedLogger } from './log-lines';
import { buildRequest, rawRequest, type RawAnswer } from './raw-http';

// Tuned for a loaded 2-core machine: the whole file stays well under a minute for all targets.
const RUNS = Number(process.env.LLMSCOPE_FUZZ_RUNS ?? 40);
/** Cap on the samples of `/metrics` (default metrics off) after every property ran on an app. */
const SERIES_CAP = 400;

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const latin1 = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max, min: 0x20, max: 0xff }).map((a) => Buffer.from(a.filter((b) => b !== 0x7f)));

/** Header values: empty, huge, binary, invalid UTF-8, newlines, and near-valid propagation values. */
const headerValue: fc.Arbitrary<Buffer | string> = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }).map((s) => Buffer.from(s, 'utf8')),
  fc.nat({ max: 20000 }).map((n) => 'x'.repeat(n)),
  fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
  latin1(300),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom('\n', '\r\n', '\r', '\r\n ', '\0'), fc.string({ maxLength: 20 })).map(([a, nl, b]) => `${a}${nl}${b}`),
  fc.tuple(fc.constantFrom('00', 'ff', '01', 'zz', ''), hex(32), hex(16), fc.constantFrom('00', '01', 'ff', 'x'), fc.string({ maxLength: 8 }))
    .map(([v, t, s, f, tail]) => `${v}-${t}-${s}-${f}${tail}`),
  fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 24 })), { maxLength: 40 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(',')),
  fc.array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'tenant', '%0A', 'a;b'), fc.constantFrom('x', '%0Ay', '%ZZ', '', '%E2%28%A1', 'v;p=1')), { maxLength: 10 })
    .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(',')),
);

const headerName = fc.constantFrom('traceparent', 'tracestate', 'baggage', 'x-user-id', 'x-session-id', 'x-api-user', '__proto__', 'constructor', 'prototype', 'x-explode', 'hasOwnProperty');
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 });
const id = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.~'), minLength: 1, maxLength: 16 });

/** A bare node:http server answering `/users/:id` as the scenario's handler intends, no llmscope. */
async function oracle(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const m = /^\/users\/([^/?]+)/.exec(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (m === null) {
      res.statusCode = 404;
      res.end('{}');
      return;
    }
    res.end(JSON.stringify({ id: decodeURIComponent(m[1] as string) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function json(answer: RawAnswer): unknown {
  try {
    return JSON.parse(answer.body);
  } catch {
    return answer.body;
  }
}

const KNOWN_ROUTES = new Set(['/users/:id', '/api/v1/items/:id', '/boom', '/tagged', '/chat', '/me', '/plain', '/slow', '/stream', '/baggage', 'unmatched']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '_OTHER']);

describe.each(targets.map((t) => [t.name, t] as [string, ContractTarget]))('fuzzed client input: %s', (_name, target) => {
  let app: RunningApp;
  let bare: { url: string; server: Server };
  let log: CheckedLogger;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    log = checkedLogger();
    app = await target.start({ identify: contractIdentify, metrics: { defaultMetrics: false }, logging: { logger: log.logger } });
    bare = await oracle();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await app?.close();
    await new Promise((r) => bare?.server.close(r));
  });

  test('propagation, user and session headers (empty, huge, binary, invalid UTF-8, repeated, __proto__, newlines): the status and body Node and the handler give', async () => {
    await fc.assert(fc.asyncProperty(id, headers, async (userId, list) => {
      const request = buildRequest('GET', `/users/${userId}`, list);
      // A value that ends the head early turns the rest into a second, pipelined request: whether
      // Node's 400 for it comes before the first answer depends on how fast the app answers,
      // with or without llmscope. One request at a time here.
      const head = request.subarray(0, request.length - 4).toString('latin1');
      fc.pre(!head.includes('\r\n\r\n') && !head.includes('\n\n') && !head.includes('\n\r\n'));
      const [got, want] = await Promise.all([rawRequest(app.url, request), rawRequest(bare.url, request)]);
      if (want.status === 200) {
        expect(got.status).toBe(200);
        expect(json(got)).toEqual({ id: userId });
      } else {
        // Node's parser refused the bytes (400, 431) before any app code: the framework renders
        // that refusal its own way (Fastify 4.10 answers 400 for an oversized head), never llmscope.
        expect(want.status).toBeGreaterThanOrEqual(400);
        expect(got.status).toBeGreaterThanOrEqual(400);
        expect(got.status).toBeLessThan(500);
      }
    }), { numRuns: RUNS });
  }, 120000);

  test('encoded ids (any string, percent-encoded): 200 and the id the handler returns', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 }), async (raw, query) => {
      const encoded = encodeURIComponent(raw);
      const got = await rawRequest(app.url, buildRequest('GET', `/users/${encoded}?q=${encodeURIComponent(query)}`, []));
      expect(got.status).toBe(200);
      // Frameworks decode route params; the node target's tiny router hands the raw segment over.
      expect([{ id: raw }, { id: encoded }]).toContainEqual(json(got));
    }), { numRuns: RUNS });
  }, 120000);

  test('hostile URLs and methods (dot segments, double slashes, bad encodings, raw bytes, very long, unknown methods): never a 5xx, always an answer', async () => {
    const segment = fc.oneof(id, fc.constantFrom('..', '.', '', '%2e%2e', '%2F', '%', '%zz', '%00', '%0A', '%E2%28%A1', '__proto__', 'constructor', ';', '*'), fc.string({ maxLength: 10 }).map(encodeURIComponent));
    const path = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => `/${s.join('/')}`),
      fc.array(segment, { maxLength: 4 }).map((s) => `/users/${s.join('/')}`),
      fc.nat({ max: 20000 }).map((n) => `/users/${'a'.repeat(n)}`),
      latin1(60).map((b) => Buffer.concat([Buffer.from('/users/'), b.filter((x) => x !== 0x20 && x !== 0x23)])),
      fc.constantFrom('*', 'http://127.0.0.1/users/1', '/users/1#frag', '/users/1?a=%ZZ&&=', '/metrics/../users/1'),
    );
    const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'PURGE', 'MKCOL', 'SEARCH', 'QUERY', 'LINK', 'M-SEARCH'), fc.string({ unit: fc.constantFrom(...'ABCXYZ_-'), minLength: 1, maxLength: 12 }));
    await fc.assert(fc.asyncProperty(method, path, async (m, p) => {
      const got = await rawRequest(app.url, buildRequest(m, p, m === 'POST' || m === 'PATCH' ? [['content-length', '0']] : []));
      expect(got.error).toBeUndefined();
      expect(got.status).toBeGreaterThanOrEqual(200);
      expect(got.status).toBeLessThan(500);
      if (got.status === 200 && m === 'GET' && (got.headers.get('content-type') ?? '').includes('json')) expect(json(got)).toEqual({ id: expect.any(String) });
    }), { numRuns: RUNS });
  }, 120000);

  test(`after the fuzzing: bounded label sets (fewer than ${SERIES_CAP} samples in /metrics), one line per log record, nothing thrown`, async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    const samples = parseMetrics(await res.text());
    const requests = find(samples, 'http_server_requests_total');
    for (const s of requests) {
      expect(KNOWN_ROUTES).toContain(s.labels.route);
      expect(METHODS).toContain(s.labels.method);
    }
    expect(samples.length).toBeLessThan(SERIES_CAP);
    expect(log.broken).toEqual([]);
    expect(log.count()).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
    process.stdout.write(`[fuzz-http] ${target.name}: ${samples.length} samples in /metrics (${requests.length} request series), ${log.count()} log lines\n`);
  });
});
