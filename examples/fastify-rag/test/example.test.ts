import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { llmscopeSpanProcessor, TreePrinterProcessor } from '@llmscope/core';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { createApp } from '../src/app';
import { checkScoring } from '../../shared/test/scoring';

const exporter = memoryExporter();
// The printer `npm start` uses, writing into an array instead of stdout (NODE_ENV=test turns
// the default one off). Attached like the default one, so it sees spans start and end live.
const trees: string[] = [];
llmscopeSpanProcessor.add(new TreePrinterProcessor((text) => trees.push(text)));
const logLines: Array<Record<string, unknown>> = [];
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  // Speed 0: the simulated latencies are skipped, the pipeline and its spans are the same.
  // Fastify's logger on, into an array: llmscope must leave its lines alone.
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // The judge grades every answer (the example samples half), so that its score is certain.
  app = await createApp({ speed: 0, logger: { level: 'info', stream }, judgeSampleRate: 1 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(() => app.close());

const STEPS = ['embed_query', 'vector_search', 'prompt_construction', 'chat sim-gpt', 'response_formatting'];

/** Asks the app a question as alice, session s-1; returns the response and the spans of its trace. */
async function ask(question: string): Promise<{ body: { answer: string; sources: Array<{ id: string }>; traceId: string }; traceHeader: string; spans: ReadableSpan[] }> {
  const res = await request(url).post('/chat').set('x-user-id', 'alice').set('x-session-id', 's-1').send({ question }).expect(200);
  const traceId = res.body.traceId as string;
  const spans = await waitForSpans(exporter, (all) => all.some((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.SERVER));
  return { body: res.body, traceHeader: res.headers['x-trace-id'] as string, spans: spans.filter((s) => s.spanContext().traceId === traceId) };
}

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe('fastify-rag example', () => {
  test('POST /chat answers from the knowledge base and returns the trace id', async () => {
    const { body, traceHeader } = await ask('How much does Orbit Notes Pro cost?');
    expect(body.answer).toContain('$8 per month');
    expect(body.sources[0]?.id).toBe('pricing');
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceHeader).toBe(body.traceId);
  });

  test('the RAG steps and the LLM call are child spans of POST /chat, in order, with their attributes', async () => {
    const { spans } = await ask('Can I use Orbit Notes offline?');
    const root = byName(spans, 'POST /chat');
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.attributes).toMatchObject({ 'http.route': '/chat', 'http.response.status_code': 200, 'user.id': 'alice', 'session.id': 's-1', 'llmscope.feature': 'chat' });
    const children = spans
      .filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(children.map((s) => s.name)).toEqual(STEPS);
    const llm = byName(spans, 'chat sim-gpt');
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(llm.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'sim-gpt', 'gen_ai.conversation.id': 's-1', 'user.id': 'alice' });
    // The simulated LLM counts tokens deterministically (examples/shared/test/kit.test.ts): this question's prompt and answer.
    expect(llm.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 199, 'gen_ai.usage.output_tokens': 22 });
  });

  test('/metrics counts the LLM tokens the spans report and the request under its route', async () => {
    const before = parseMetrics((await request(url).get('/metrics').expect(200)).text);
    const { spans } = await ask('How do I export my notes to PDF?');
    const llm = byName(spans, 'chat sim-gpt');
    const after = parseMetrics((await request(url).get('/metrics').expect(200)).text);
    const tokens = (samples: typeof after, type: string): number =>
      find(samples, 'llmscope_llm_tokens_total', { model: 'sim-gpt', provider: 'simulated', token_type: type })[0]?.value ?? 0;
    expect(tokens(after, 'input') - tokens(before, 'input')).toBe(llm.attributes['gen_ai.usage.input_tokens']);
    expect(tokens(after, 'output') - tokens(before, 'output')).toBe(llm.attributes['gen_ai.usage.output_tokens']);
    const chats = (samples: typeof after): number => find(samples, 'http_server_requests_total', { method: 'POST', route: '/chat', status_code: '200' })[0]?.value ?? 0;
    expect(chats(after) - chats(before)).toBe(1);
  });

  test('the trace prints as a tree, one line per span', async () => {
    const { body } = await ask('How much does Orbit Notes Pro cost?');
    const lines = (trees.find((t) => t.includes(body.traceId)) ?? '').trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^POST /chat \\d+ms \\(1 LLM call, in \\d+ / out \\d+ tok, \\$\\d\\.\\d{6}\\) → 200  user alice  session s-1  trace ${body.traceId}$`));
    expect(lines).toHaveLength(6);
  });

  test('answers are scored: citation accuracy (code), relevance (judge), and feedback with the trace id (human), by prompt version', async () => {
    await checkScoring(url, { prompt_name: 'rag-answer', prompt_version: 'v1' });
  });

  test('GET / lists the endpoints; an invalid body gets Fastify\'s 400; Fastify still logs its lines', async () => {
    const res = await request(url).get('/').expect(200);
    expect(res.body.endpoints.map((e: { method: string; path: string }) => `${e.method} ${e.path}`)).toEqual(['GET /', 'POST /chat', 'POST /llmscope/feedback', 'GET /metrics']);
    await request(url).post('/chat').send({}).expect(400);
    await request(url).post('/chat').send({ question: '   ' }).expect(400);
    const completed = logLines.filter((l) => l.msg === 'request completed');
    expect(completed.length).toBeGreaterThan(0);
    expect(completed.some((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 400)).toBe(true);
  });
});

describe('npm run start:fastify', () => {
  test('starts the server, prints the banner, answers /chat and prints the trace tree', async () => {
    const root = join(__dirname, '..', '..', '..');
    // Its own process group, so that npm, tsx and node all stop together.
    const child = spawn('npm', ['run', 'start:fastify'], { cwd: root, env: { ...process.env, PORT: '0', NODE_ENV: 'development', SIM_LLM_SPEED: '' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const waitFor = async (pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(stdout);
        if (m) return m;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} in stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    // npm, then tsx compiling the app: seconds on an idle machine, far more on a loaded CI box.
    try {
      const [, base] = await waitFor(/Fastify RAG example listening on (http:\/\/localhost:\d+)/, 30000);
      // The console's URL, printed at start, serves the console.
      expect(stdout).toContain(`Console: ${base}/llmscope `);
      expect((await fetch(`${base}/llmscope`)).headers.get('content-security-policy')).toContain("script-src 'self'");
      const res = await fetch(`${base}/chat`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': 'bob' }, body: JSON.stringify({ question: 'Is my data encrypted?' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { answer: string; traceId: string };
      expect(body.answer).toContain('AES-256');
      const [tree] = await waitFor(new RegExp(`POST /chat \\d+ms \\(1 LLM call, in \\d+ / out \\d+ tok, \\$\\d\\.\\d{6}\\) → 200  user bob  trace ${body.traceId}\\n(?:[├└].*\\n){5}`), 15_000);
      expect(tree).toMatch(/├ chat sim-gpt \d+ms \(in \d+ \/ out \d+ tok, \$\d+\.\d{6}\)\n└ response_formatting \d+ms\n$/);
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  }, 60000);
});
