import express from 'express';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { LangfuseServer, OtlpReceiver, SentryServer, listen, memoryLogger, type Listening } from '@llmscope/testkit';
import { llmscope, score, step, tag, traceLLM } from '@llmscope/express';
import { llmscopeConsole } from '../src';

/**
 * Redaction on every road (issue 18 item 4): secrets and e-mail addresses planted in a prompt, a
 * model output, a tag, a step name, an LLM call's error, a request's error and a score comment
 * arrive nowhere in clear: not at the OTLP receiver, not at the Langfuse server (spans and scores),
 * not at the app's own span processor (a real OTLP exporter of the app, to a receiver of its own),
 * not in a log line, not at the Sentry server, not in the console's API, not in the trace printer's output. Real servers, real
 * exporters; each road is also checked to have carried the content (so the check is not vacuous).
 */

const SECRETS = {
  openai: 'sk-proj-Abc123Def456Ghi789Jkl012Mno345',
  anthropic: 'sk-ant-api03-Zyx987Wvu654Tsr321Qpo0',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  bearer: 'Bearer tok_9f8e7d6c5b4a3210fedcba',
  pem: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----',
  urlPassword: 'postgres://admin:Hunter2Secret@db.internal:5432/app',
  email: 'jane.doe@example.com',
};
/** What must appear nowhere: each secret's distinctive part. */
const RAW = ['Abc123Def456Ghi789', 'Zyx987Wvu654', 'AKIAIOSFODNN7EXAMPLE', 'abcdefghijklmnopqrstuvwxyz0123456789', 'dozjgNryP4J3jVmNHl0w5N', 'tok_9f8e7d6c5b4a3210', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'Hunter2Secret', 'jane.doe'];
const ALL = Object.values(SECRETS).join(' | ');

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectNoSecret(road: string, text: string): void {
  for (const raw of RAW) {
    if (text.includes(raw)) throw new Error(`${road}: "${raw}" arrived in clear: …${text.slice(Math.max(0, text.indexOf(raw) - 120), text.indexOf(raw) + 60)}…`);
  }
}

test('secrets and e-mails in a prompt, an output, a tag, errors and a score comment arrive redacted on every road', async () => {
  const otlp = await new OtlpReceiver().start();
  const appBackend = await new OtlpReceiver().start();
  const langfuse = await new LangfuseServer().start();
  const sentry = await new SentryServer().start();
  open.push(otlp, appBackend, langfuse, sentry);
  const { logger, raw: logLines } = memoryLogger();
  // The trace printer writes to stdout: what it writes is recorded (and still written).
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: string | Uint8Array, ...rest: never[]): boolean {
    printed.push(String(chunk));
    return write.call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  open.push({ close: async () => void (process.stdout.write = write) });
  // The app's own span processor: its own OTLP exporter to a backend of its own.
  const appProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: appBackend.tracesUrl }), { scheduledDelayMillis: 100 });

  const mw = llmscope({
    serviceName: 'redaction-roads',
    metrics: false,
    llm: { captureContent: true },
    logging: { logger, captureContent: true },
    tracing: { spanProcessors: [appProcessor], printTraces: true },
    sampling: { tail: false },
    exporters: {
      otlp: { url: otlp.tracesUrl },
      langfuse: { publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: langfuse.url },
      sentry: { dsn: sentry.dsn },
    },
  });
  const consoleUi = llmscopeConsole(mw.llmscope);
  const app = express();
  app.use(mw);
  app.use(express.json());
  app.post('/ask', async (req, res, next) => {
    const question = String((req.body as { question: string }).question);
    try {
      tag('customer', SECRETS.email);
      tag('credential', SECRETS.github);
      const answer = await step(`lookup ${SECRETS.email}`, () => traceLLM({ model: 'gpt-4o-mini', provider: 'openai', input: [{ role: 'system', content: `Use ${SECRETS.openai}` }, { role: 'user', content: question }] }, async () => ({
        id: 'c1', model: 'gpt-4o-mini', usage: { prompt_tokens: 5, completion_tokens: 5 },
        choices: [{ index: 0, message: { role: 'assistant', content: `Sure: ${ALL}` }, finish_reason: 'stop' }],
      })));
      score({ name: 'helpful', value: 1, comment: `the judge saw ${SECRETS.jwt} and ${SECRETS.email}` });
      if (question.includes('fail')) {
        // A failed LLM call (its error on the call's span, log line and Sentry event)...
        await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', input: question }, async () => {
          throw new Error(`401 from the provider for key ${SECRETS.anthropic}, user ${SECRETS.email}`);
        }).catch(() => undefined);
        // ...and the request's own error.
        throw new Error(`could not reach ${SECRETS.urlPassword} with ${SECRETS.aws} for ${SECRETS.email}`);
      }
      res.json(answer);
    } catch (error) {
      next(error);
    }
  });
  const listening: Listening = await listen(app);
  open.push(listening);

  const prompt = `My keys: ${ALL}. Authorization: ${SECRETS.bearer}`;
  let traceId = '';
  for (const question of [prompt, `${prompt} fail`]) {
    const res = await fetch(`${listening.url}/ask`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': SECRETS.email, 'x-session-id': `session of ${SECRETS.email}` }, body: JSON.stringify({ question }) });
    await res.arrayBuffer();
    traceId ||= res.headers.get('x-trace-id') ?? '';
  }
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);

  // The console's API, while the app runs.
  const api = async (path: string): Promise<string> => {
    const res = await fetch(`${listening.url}/llmscope/api${path}`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const consoleTrace = await eventually(async () => {
    const body = await api(`/traces/${traceId}`);
    return body.includes('gen_ai.input.messages') && body.includes('"scores":[{') ? body : undefined;
  }, 'the trace in the console');
  const consoleOut = [consoleTrace, await api('/requests'), await api('/sessions'), await api(`/sessions/${encodeURIComponent(`session of ${SECRETS.email}`)}`)].join('\n');

  await mw.llmscope.shutdown();
  await appProcessor.forceFlush();
  await eventually(() => (sentry.events.length >= 2 ? true : undefined), 'two Sentry events');
  await langfuse.waitForScores((s) => s.length >= 1, 30_000);

  const roads: Record<string, string> = {
    'OTLP receiver': JSON.stringify(otlp.spans),
    'Langfuse server (spans and scores)': JSON.stringify([langfuse.spans, langfuse.scores]),
    "the app's span processor (its own OTLP backend)": JSON.stringify(appBackend.spans),
    'log lines': logLines.join('\n'),
    'Sentry server': JSON.stringify(sentry.envelopes.map((e) => e.items.map((i) => (Buffer.isBuffer(i.payload) ? i.payload.toString('utf8') : i.payload)))),
    'console API': consoleOut,
    'trace printer': printed.filter((p) => p.includes('POST /ask')).join(''),
  };
  // Each road carried the content, redacted...
  for (const [road, text] of Object.entries(roads)) {
    if (road === 'trace printer') continue; // prints no content, only names, ids and errors
    expect({ road, redacted: text.includes('[REDACTED]'), emails: text.includes('[EMAIL]') }).toEqual({ road, redacted: true, emails: true });
  }
  expect(roads['OTLP receiver']).toContain('gen_ai.input.messages');
  expect(roads["the app's span processor (its own OTLP backend)"]).toContain('gen_ai.output.messages');
  expect(roads["the app's span processor (its own OTLP backend)"]).toContain('llmscope.tag.customer');
  expect(roads['Sentry server']).toContain('could not reach postgres://admin:[REDACTED]@db.internal:5432/app with [REDACTED] for [EMAIL]');
  expect(roads['log lines']).toContain('"comment":"the judge saw [REDACTED] and [EMAIL]"');
  expect(roads['Langfuse server (spans and scores)']).toContain('the judge saw [REDACTED] and [EMAIL]');
  expect(roads['console API']).toContain('Bearer [REDACTED]');
  expect(roads['trace printer']).toContain('user [EMAIL]');
  // ...and none in clear.
  for (const [road, text] of Object.entries(roads)) expectNoSecret(road, text);
  consoleUi.close();
}, 120_000);

test('redact.appSpanProcessors: false hands the app processors spans as recorded; the exporters stay redacted', async () => {
  const otlp = await new OtlpReceiver().start();
  open.push(otlp);
  const appSpans = new InMemorySpanExporter();
  const mw = llmscope({
    metrics: false,
    redact: { appSpanProcessors: false },
    tracing: { spanProcessors: [new SimpleSpanProcessor(appSpans)] },
    sampling: { tail: false },
    exporters: { otlp: { url: otlp.tracesUrl } },
  });
  const app = express();
  app.use(mw);
  app.get('/tagged', (_req, res) => {
    tag('customer', SECRETS.email);
    res.json({ ok: true });
  });
  const listening = await listen(app);
  open.push(listening);
  await (await fetch(`${listening.url}/tagged`)).arrayBuffer();
  await mw.llmscope.shutdown();
  const recorded = appSpans.getFinishedSpans().find((s) => s.attributes['llmscope.tag.customer'] !== undefined);
  expect(recorded?.attributes['llmscope.tag.customer']).toBe(SECRETS.email);
  await otlp.waitForSpans((spans) => spans.some((s) => s.attributes['llmscope.tag.customer'] !== undefined), 30_000);
  expect(otlp.spans.find((s) => s.attributes['llmscope.tag.customer'] !== undefined)?.attributes['llmscope.tag.customer']).toBe('[EMAIL]');
}, 60_000);
