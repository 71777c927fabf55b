/**
 * Outgoing calls carry the trace: an llmscope-instrumented server (@llmscope/node) makes real
 * `fetch` and `http.request` calls to a second local server inside its requests; the second
 * server sees the `traceparent`, and the CLIENT spans reach a real OTLP receiver. Shared by
 * outgoing.test.ts and outgoing.node22.test.ts: `http` calls are seen through
 * `ClientRequest.prototype._implicitHeader` on Node 20 and `http.client.request.created` on 22+.
 */
import { get, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { trace } from '@opentelemetry/api';
import { listen, OtlpReceiver, SentryServer, type Listening, type ReceivedSpan } from '@llmscope/testkit';
import { Llmscope, LlmscopeConfigError, runWithContext, withLlmscope, step, traceLLM, type LlmscopeHandler, type LlmscopeOptions } from '@llmscope/node';

const CLIENT = 3;

/** What the downstream service received. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
}

let downstream: Listening;
const received: Received[] = [];

/** `GET url` with node:http; resolves with the status code, or the error's code. */
function httpGet(url: string, headers: Record<string, string> = {}): Promise<number | string> {
  return new Promise((resolve) => {
    get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.name));
  });
}

/** `POST url` with node:http.request and a body written in two parts. */
function httpPost(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write('a');
    req.end('b');
  });
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The app: each route makes its outgoing calls, then answers 200 with what they returned. */
function appHandler(down: () => string, refusedPort: () => number) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const results: unknown[] = [];
    switch (req.url) {
      case '/step':
        await step('vector_search', async () => {
          results.push((await fetch(`${down()}/search?api_key=s3cret&q=1`)).status);
          results.push(await httpGet(`${down()}/http-search?token=x`));
          results.push(await httpPost(`${down()}/upsert`));
        });
        break;
      case '/preset':
        results.push((await fetch(`${down()}/preset-fetch`, { headers: { traceparent: PRESET } })).status);
        results.push(await httpGet(`${down()}/preset-http`, { traceparent: PRESET }));
        break;
      case '/refused':
        try {
          await fetch(`http://127.0.0.1:${refusedPort()}/nothing`);
        } catch (error) {
          results.push((error as Error).name);
        }
        results.push(await httpGet(`http://127.0.0.1:${refusedPort()}/nothing`));
        break;
      case '/proxy': {
        // A request through a (forward) proxy: the path is the absolute URL.
        const { hostname, port } = new URL(down());
        results.push(await new Promise<number>((resolve, reject) => {
          get({ host: hostname, port, path: 'http://vector-db.internal:6333/collections/kb?api_key=s3cret' }, (r) => {
            r.resume();
            r.on('end', () => resolve(r.statusCode ?? 0));
          }).on('error', reject);
        }));
        break;
      }
      case '/abort': {
        // Both calls are aborted by the app after the first chunk of a body that never ends.
        const fetchAbort = new AbortController();
        const response = await fetch(`${down()}/endless`, { signal: fetchAbort.signal });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        await reader.read();
        fetchAbort.abort();
        results.push(await reader.read().then(() => 'read', (error: Error) => error.name));
        const httpAbort = new AbortController();
        results.push(await new Promise<string>((resolve) => {
          get(`${down()}/endless`, { signal: httpAbort.signal }, (r) => {
            r.once('data', () => httpAbort.abort());
            r.on('error', () => undefined);
          }).on('error', (error) => resolve(error.name));
        }));
        break;
      }
      case '/status':
        results.push((await fetch(`${down()}/missing`)).status);
        break;
      case '/llm':
        await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
          results.push((await fetch(`${down()}/v1/chat/completions`, { method: 'POST', body: '{}' })).status);
          return { usage: { prompt_tokens: 1, completion_tokens: 1 } };
        });
        break;
      default:
        results.push((await fetch(`${down()}/plain`)).status);
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(results));
  };
}

const PRESET = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function traceparentOf(path: string): string[] {
  return received.filter((r) => r.path.split('?')[0] === path).map((r) => String(r.headers.traceparent));
}

/** `00-<trace>-<parent span>-<flags>` → its parts. */
function parse(traceparent: string | undefined): { traceId: string; spanId: string; flags: string } {
  const [, traceId = '', spanId = '', flags = ''] = (traceparent ?? '').split('-');
  return { traceId, spanId, flags };
}

async function serve(options: LlmscopeOptions<IncomingMessage>, refused = 1): Promise<{ app: Listening; handler: LlmscopeHandler }> {
  const handler = withLlmscope(appHandler(() => downstream.url, () => refused), options);
  return { app: await listen(handler), handler };
}

/** The scenarios, run by outgoing.test.ts (this Node) and outgoing.node22.test.ts (Node 22 and 24). */
export function outgoingScenarios(title: string): void {
  describe(title, () => {
    let receiver: OtlpReceiver;

    beforeAll(async () => {
      downstream = await listen((req, res) => {
        received.push({ path: req.url ?? '', headers: req.headers });
        req.resume();
        req.on('end', () => {
          // /endless: headers and a first chunk, then nothing (until the server closes).
          if (req.url === '/endless') {
            res.write('first');
            return;
          }
          res.statusCode = req.url === '/missing' ? 404 : 200;
          res.end('ok');
        });
      });
    });
    beforeEach(async () => {
      receiver = await new OtlpReceiver().start();
      received.length = 0;
    });
    afterEach(async () => {
      await receiver.close();
    });
    afterAll(async () => {
      await downstream.close();
    });

    test('fetch and http calls inside a step: the next service gets the trace, the CLIENT spans are children of the step', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/step`);
      expect(await res.json()).toEqual([200, 200, 200]);
      const traceId = res.headers.get('x-trace-id') ?? '';
      // Exported by the queue's timer, which was scheduled inside the request (not by shutdown).
      await receiver.waitForSpans((received) => received.some((s) => s.kind === 2));
      await handler.llmscope.shutdown();
      await app.close();

      const spans = receiver.trace(traceId);
      const stepSpan = spans.find((s) => s.name === 'vector_search');
      const clients = spans.filter((s) => s.kind === CLIENT);
      expect(clients.map((s) => s.name).sort()).toEqual(['GET', 'GET', 'POST']);
      for (const [path, method] of [['/search', 'GET'], ['/http-search', 'GET'], ['/upsert', 'POST']] as const) {
        const sent = traceparentOf(path);
        expect(sent).toHaveLength(1);
        const { traceId: sentTrace, spanId, flags } = parse(sent[0]);
        expect(sentTrace).toBe(traceId);
        expect(flags).toBe('01');
        const span = clients.find((s) => s.spanId === spanId) as ReceivedSpan;
        expect(span).toBeDefined();
        expect(span.parentSpanId).toBe(stepSpan?.spanId);
        const port = Number(new URL(downstream.url).port);
        expect(span.attributes).toEqual({
          'http.request.method': method,
          // The query (api_key, token) is never recorded.
          'url.full': `${downstream.url}${path}`,
          'server.address': '127.0.0.1',
          'server.port': port,
          'http.response.status_code': 200,
        });
        expect(span.status.code).not.toBe(2);
      }
      // llmscope's own export requests carry no traceparent and are not traced.
      expect(receiver.exportHeaders.length).toBeGreaterThan(0);
      for (const headers of receiver.exportHeaders) expect(headers.traceparent).toBeUndefined();
      const receiverPort = Number(new URL(receiver.url).port);
      expect(receiver.spans.filter((s) => s.attributes['server.port'] === receiverPort)).toEqual([]);
    });

    test('a call made directly in the handler is a child of the request span; a 4xx answer marks it failed', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
      const plain = await fetch(`${app.url}/plain`);
      const status = await fetch(`${app.url}/status`);
      expect(await status.json()).toEqual([404]);
      await handler.llmscope.shutdown();
      await app.close();

      const plainSpans = receiver.trace(plain.headers.get('x-trace-id') ?? '');
      const server = plainSpans.find((s) => s.kind === 2);
      const client = plainSpans.find((s) => s.kind === CLIENT);
      expect(client?.parentSpanId).toBe(server?.spanId);
      expect(parse(traceparentOf('/plain')[0]).spanId).toBe(client?.spanId);

      const failed = receiver.trace(status.headers.get('x-trace-id') ?? '').find((s) => s.kind === CLIENT);
      expect(failed?.attributes).toMatchObject({ 'http.response.status_code': 404, 'error.type': '404' });
      expect(failed?.status.code).toBe(2);
    });

    test('through a proxy (absolute-form path): url.full is the URL asked for, without its query', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/proxy`);
      expect(await res.json()).toEqual([200]);
      const traceId = res.headers.get('x-trace-id') ?? '';
      await handler.llmscope.shutdown();
      await app.close();
      const client = receiver.trace(traceId).find((s) => s.kind === CLIENT);
      expect(client?.attributes['url.full']).toBe('http://vector-db.internal:6333/collections/kb');
      expect(parse(traceparentOf('http://vector-db.internal:6333/collections/kb')[0]).spanId).toBe(client?.spanId);
    });

    test('`tracing.outgoing: false`: no traceparent, no CLIENT span', async () => {
      const { app, handler } = await serve({ metrics: false, tracing: { outgoing: false }, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/step`);
      expect(await res.json()).toEqual([200, 200, 200]);
      await handler.llmscope.shutdown();
      await app.close();
      expect(received.map((r) => r.headers.traceparent)).toEqual([undefined, undefined, undefined]);
      expect(receiver.spans.map((s) => s.name).sort()).toEqual(['GET', 'vector_search']);
      expect(receiver.spans.filter((s) => s.kind === CLIENT)).toEqual([]);
    });

    test('a call that already has a traceparent is left as it is, with no span', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/preset`);
      expect(await res.json()).toEqual([200, 200]);
      await handler.llmscope.shutdown();
      await app.close();
      expect(traceparentOf('/preset-fetch')).toEqual([PRESET]);
      expect(traceparentOf('/preset-http')).toEqual([PRESET]);
      expect(receiver.spans.filter((s) => s.kind === CLIENT)).toEqual([]);
    });

    test('outside a request nothing is injected', async () => {
      const { app, handler } = await serve({ metrics: false });
      expect((await fetch(`${downstream.url}/outside-fetch`)).status).toBe(200);
      expect(await httpGet(`${downstream.url}/outside-http`)).toBe(200);
      await step('outside-step', () => fetch(`${downstream.url}/outside-step`));
      await handler.llmscope.shutdown();
      await app.close();
      expect(received.map((r) => r.headers.traceparent)).toEqual([undefined, undefined, undefined]);
    });

    test('a request excluded by metrics.exclude sends nothing on; a job in runWithContext() does', async () => {
      const { app, handler } = await serve({ metrics: { exclude: ['/plain'], defaultMetrics: false }, exporters: { otlp: { url: receiver.tracesUrl } } });
      expect(await (await fetch(`${app.url}/plain`)).json()).toEqual([200]);
      expect(traceparentOf('/plain')).toEqual(['undefined']);
      // Work outside HTTP (a queue consumer): its step's call carries the step's trace on.
      let stepTrace = '';
      await runWithContext(() => step('job', async () => {
        stepTrace = trace.getActiveSpan()?.spanContext().traceId ?? '';
        await (await fetch(`${downstream.url}/job-call`)).arrayBuffer();
      }));
      await handler.llmscope.shutdown();
      await app.close();
      expect(parse(traceparentOf('/job-call')[0]).traceId).toBe(stepTrace);
      expect(receiver.trace(stepTrace).map((s) => s.name).sort()).toEqual(['GET', 'job']);
    });

    test('connection refused: the span ends failed with the error code; the app gets its own error and answers', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } }, await closedPort());
      const res = await fetch(`${app.url}/refused`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(['TypeError', 'ECONNREFUSED']);
      const traceId = res.headers.get('x-trace-id') ?? '';
      await handler.llmscope.shutdown();
      await app.close();
      const clients = receiver.trace(traceId).filter((s) => s.kind === CLIENT);
      expect(clients).toHaveLength(2);
      for (const span of clients) {
        expect(span.status.code).toBe(2);
        expect(span.attributes['error.type']).toBe('ECONNREFUSED');
        expect(span.attributes['http.response.status_code']).toBeUndefined();
        expect(span.events.map((e) => e.name)).toEqual(['exception']);
      }
    });

    test('calls the app aborts mid-body: each span ends, failed with the abort', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/abort`);
      expect(await res.json()).toEqual(['AbortError', 'AbortError']);
      const traceId = res.headers.get('x-trace-id') ?? '';
      await handler.llmscope.shutdown();
      await app.close();
      const clients = receiver.trace(traceId).filter((s) => s.kind === CLIENT);
      expect(clients).toHaveLength(2);
      for (const span of clients) {
        expect(span.attributes['http.response.status_code']).toBe(200);
        expect(span.status.code).toBe(2);
        // fetch's DOMException has a numeric code: its name; Node's http AbortError: ABORT_ERR.
        expect(['AbortError', 'ABORT_ERR']).toContain(span.attributes['error.type']);
      }
    });

    test('inside an LLM call: its CLIENT span stands for the request (no second span) and is the parent sent on', async () => {
      const { app, handler } = await serve({ metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/llm`);
      expect(await res.json()).toEqual([200]);
      const traceId = res.headers.get('x-trace-id') ?? '';
      await handler.llmscope.shutdown();
      await app.close();
      const spans = receiver.trace(traceId);
      const llm = spans.find((s) => s.name === 'chat gpt-4o-mini');
      expect(spans.filter((s) => s.kind === CLIENT)).toEqual([llm]);
      expect(parse(traceparentOf('/v1/chat/completions')[0])).toEqual({ traceId, spanId: llm?.spanId, flags: '01' });
    });

    test('a head-sampled-out request still sends its trace id on (not sampled), with no span', async () => {
      const { app, handler } = await serve({ metrics: false, sampling: { head: { ratio: 0 } }, exporters: { otlp: { url: receiver.tracesUrl } } });
      const res = await fetch(`${app.url}/plain`);
      expect(await res.json()).toEqual([200]);
      const traceId = res.headers.get('x-trace-id') ?? '';
      await handler.llmscope.shutdown();
      await app.close();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(parse(traceparentOf('/plain')[0])).toMatchObject({ traceId, flags: '00' });
      expect(receiver.spans).toEqual([]);
    });

    test("Sentry's event requests, sent from inside the failing request, are not traced", async () => {
      const sentry = await new SentryServer().start();
      try {
        const failing = withLlmscope(async () => {
          await step('rerank', () => {
            throw new Error('rerank failed');
          });
        }, { metrics: false, exporters: { otlp: { url: receiver.tracesUrl }, sentry: { dsn: sentry.dsn } } });
        const failingApp = await listen(failing);
        expect((await fetch(`${failingApp.url}/x`)).status).toBe(500);
        await sentry.waitForEvents((events) => events.length > 0);
        await failing.llmscope.shutdown();
        await failingApp.close();
        const sentryPort = Number(new URL(sentry.dsn).port);
        expect(receiver.spans.length).toBeGreaterThan(0);
        expect(receiver.spans.filter((s) => s.kind === CLIENT || s.attributes['server.port'] === sentryPort)).toEqual([]);
      } finally {
        await sentry.close();
      }
    });

    test('`tracing.outgoing` is a boolean; anything else fails at start-up', () => {
      expect(() => new Llmscope({ metrics: false, tracing: { outgoing: 'no' as unknown as boolean } })).toThrow(LlmscopeConfigError);
      expect(() => new Llmscope({ metrics: false, tracing: { outgoing: 'no' as unknown as boolean } })).toThrow('llmscope: option `tracing.outgoing` must be true or false, got "no".');
      expect(() => new Llmscope({ metrics: false, tracing: { outgoin: false } as never })).toThrow('Did you mean `tracing.outgoing`?');
    });
  });
}
