import request from 'supertest';
import express from 'express';
import { listen, type Listening } from '@llmscope/testkit';
import { llmscope, traceLLM, type LogSink } from '@llmscope/express';
import { llmscopeConsole, type LlmscopeConsole, type TraceView } from '../src';

const open: Listening[] = [];
const consoles: LlmscopeConsole[] = [];
afterAll(async () => {
  for (const c of consoles) c.close();
  await Promise.all(open.map((l) => l.close()));
});

/** A logger that keeps what it is given: the app's logger, which must still get every line. */
function memoryLogger(): LogSink & { lines: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> } {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An app whose route logs `n` lines of its own through the console's logger around one LLM call. */
async function appWithLogs(options: Parameters<typeof llmscopeConsole>[1]): Promise<{ url: string; logger: ReturnType<typeof memoryLogger>; c: LlmscopeConsole }> {
  const logger = memoryLogger();
  const mw = llmscope({ metrics: false, tracing: { printTraces: false }, logging: { logger } });
  const c = llmscopeConsole(mw.llmscope, options);
  consoles.push(c);
  const app = express();
  app.use(mw);
  app.get('/ask/:n', async (req, res) => {
    const n = Number(req.params.n);
    for (let i = 0; i < n; i++) c.logger.info({ step: i, note: 'contact bob@example.com' }, `app line ${i}`);
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async (call) => {
      call.setUsage({ inputTokens: 10, outputTokens: 2 });
      return 'ok';
    });
    res.json({ ok: true });
  });
  const l = await listen(app);
  open.push(l);
  return { url: l.url, logger, c };
}

async function traceOf(url: string, lines: number): Promise<TraceView> {
  const list = await eventually(async () => {
    const r = (await request(url).get('/llmscope/api/requests?limit=1').expect(200)).body;
    return r.requests.length === 1 ? r.requests[0] as { id: string } : undefined;
  }, 'the request');
  return eventually(async () => {
    const t = (await request(url).get(`/llmscope/api/traces/${list.id}`).expect(200)).body as TraceView;
    return t.logs.length >= lines ? t : undefined;
  }, `${lines} log lines`);
}

describe('log lines on the trace page', () => {
  test('llmscope\'s http_request and llm_call lines and the app\'s own lines (trace id from the request being handled), redacted; the app\'s logger still gets every line, unchanged', async () => {
    const { url, logger } = await appWithLogs({});
    await request(url).get('/ask/2').expect(200);
    const t = await traceOf(url, 4);
    expect(t.logs.map((l) => l.fields.event ?? l.msg)).toEqual(['app line 0', 'app line 1', 'llm_call', 'http_request']);
    expect(t.logs[2]).toMatchObject({ level: 'info', msg: 'llm call', fields: { model: 'gpt-4o-mini', input_tokens: 10, trace_id: t.id } });
    expect(t.logs[3]?.fields).toMatchObject({ route: '/ask/:n', status: 200, trace_id: t.id });
    // The app's line is shown redacted, as the exporters would; the app's logger has it as logged.
    expect(t.logs[0]?.fields).toEqual({ step: 0, note: 'contact [EMAIL]' });
    expect(logger.lines.map((l) => l.obj.event ?? l.msg)).toEqual(['app line 0', 'app line 1', 'llm_call', 'http_request']);
    expect(logger.lines[0]?.obj.note).toBe('contact bob@example.com');
  });

  test('bounded per trace (maxLogLinesPerTrace) and in all (maxLogLines: the oldest go)', async () => {
    const { url, c, logger } = await appWithLogs({ maxLogLinesPerTrace: 3, maxLogLines: 7 });
    await request(url).get('/ask/10').expect(200);
    const t = await traceOf(url, 3);
    expect(t.logs.map((l) => l.msg)).toEqual(['app line 0', 'app line 1', 'app line 2']);
    // Every line still reached the app's logger.
    expect(logger.lines).toHaveLength(12);
    for (let i = 0; i < 3; i++) await request(url).get('/ask/1').expect(200);
    await eventually(async () => (c.store!.stats().requests === 4 ? true : undefined), 'four requests');
    expect(c.store!.stats().logLines).toBe(7);
    // The first trace's lines were the oldest: gone from the ring.
    expect((await request(url).get(`/llmscope/api/traces/${t.id}`).expect(200)).body.logs).toEqual([]);
  });

  test('without logging on, the console\'s logger still records the app\'s lines; closing the console gives llmscope its logger back', async () => {
    const mw = llmscope({ metrics: false, tracing: { printTraces: false } });
    const c = llmscopeConsole(mw.llmscope);
    consoles.push(c);
    const app = express();
    app.use(mw);
    app.get('/x', (_req, res) => {
      c.logger.warn({ trace_id: 'f'.repeat(32), detail: { nested: true } }, 'explicit trace id');
      res.send('x');
    });
    const l = await listen(app);
    open.push(l);
    await request(l.url).get('/x').expect(200);
    const t = (await request(l.url).get(`/llmscope/api/traces/${'f'.repeat(32)}`).expect(200)).body as TraceView;
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', msg: 'explicit trace id', fields: { trace_id: 'f'.repeat(32), detail: '[object Object]' } })]);

    const logger = memoryLogger();
    const withLogging = llmscope({ metrics: false, tracing: false, logging: { logger } }).llmscope;
    const d = llmscopeConsole(withLogging);
    expect(withLogging.telemetry?.logging?.logger).toBe(d.logger);
    d.close();
    expect(withLogging.telemetry?.logging?.logger).toBe(logger);
  });
});
