import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import request from 'supertest';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { llmscopeSpanProcessor, TreePrinterProcessor } from '@llmscope/core';
import { memoryExporter, waitForSpans, find, listen, parseMetrics, type Listening } from '@llmscope/testkit';
import { createApp } from '../src/app';
import { checkScoring } from '../../shared/test/scoring';

const exporter = memoryExporter();
// The printer `npm start` uses, writing into an array instead of stdout (NODE_ENV=test turns
// the default one off). Attached like the default one, so it sees spans start and end live.
const trees: string[] = [];
llmscopeSpanProcessor.add(new TreePrinterProcessor((text) => trees.push(text)));
let app: Listening;

beforeAll(async () => {
  // Speed 0: the simulated latencies are skipped, the pipeline and its spans are the same.
  // The judge grades every answer (the example samples half), so that its score is certain.
  app = await listen(createApp({ speed: 0, judgeSampleRate: 1 }));
});
afterAll(() => app.close());

const STEPS = ['embed_query', 'vector_search', 'prompt_construction', 'chat sim-gpt', 'response_formatting'];

/** Asks the app a question as alice, session s-1; returns the response and the spans of its trace. */
async function ask(question: string): Promise<{ body: { answer: string; sources: Array<{ id: string }>; traceId: string }; traceHeader: string; spans: ReadableSpan[] }> {
  const res = await request(app.url).post('/chat').set('x-user-id', 'alice').set('x-session-id', 's-1').send({ question }).expect(200);
  const traceId = res.body.traceId as string;
  const spans = await waitForSpans(exporter, (all) => all.some((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.SERVER));
  return { body: res.body, traceHeader: res.headers['x-trace-id'] as string, spans: spans.filter((s) => s.spanContext().traceId === traceId) };
}

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe('express-rag example', () => {
  test('POST /chat answers from the knowledge base and returns the trace id', async () => {
    const { body, traceHeader } = await ask('How much does Orbit Notes Pro cost?');
    expect(body.answer).toContain('$8 per month');
    expect(body.sources[0]?.id).toBe('pricing');
    expect(body.sources).toHaveLength(3);
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
    expect(byName(spans, 'embed_query').attributes).toMatchObject({ 'gen_ai.embeddings.dimension.count': 256, 'llmscope.step.kind': 'embedding' });
    expect(byName(spans, 'vector_search').attributes).toMatchObject({
      'gen_ai.data_source.id': 'orbit-notes-docs', 'gen_ai.request.top_k': 3, 'llmscope.retrieval.documents_returned': 3, 'llmscope.step.kind': 'retrieval',
    });
    const llm = byName(spans, 'chat sim-gpt');
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(llm.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'simulated', 'gen_ai.request.model': 'sim-gpt',
      'gen_ai.response.model': 'sim-gpt', 'gen_ai.conversation.id': 's-1', 'user.id': 'alice', 'llmscope.feature': 'chat',
      'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': 'v1',
    });
    const input = llm.attributes['gen_ai.usage.input_tokens'] as number;
    const output = llm.attributes['gen_ai.usage.output_tokens'] as number;
    // The simulated LLM counts tokens deterministically (examples/shared/test/kit.test.ts): this question's prompt and answer.
    expect(input).toBe(199);
    expect(output).toBe(22);
    // Priced with the example's SIMULATED_PRICES: $0.15 / $0.60 per million tokens.
    expect(llm.attributes['llmscope.cost.usd']).toBeCloseTo((input * 0.15 + output * 0.6) / 1e6, 12);
  });

  test('/metrics counts the LLM tokens the spans report', async () => {
    const before = parseMetrics((await request(app.url).get('/metrics').expect(200)).text);
    const { spans } = await ask('How do I export my notes to PDF?');
    const llm = byName(spans, 'chat sim-gpt');
    const after = parseMetrics((await request(app.url).get('/metrics').expect(200)).text);
    const tokens = (samples: typeof after, type: string): number =>
      find(samples, 'llmscope_llm_tokens_total', { model: 'sim-gpt', provider: 'simulated', token_type: type })[0]?.value ?? 0;
    expect(tokens(after, 'input') - tokens(before, 'input')).toBe(llm.attributes['gen_ai.usage.input_tokens']);
    expect(tokens(after, 'output') - tokens(before, 'output')).toBe(llm.attributes['gen_ai.usage.output_tokens']);
    const chats = (samples: typeof after): number => find(samples, 'http_server_requests_total', { method: 'POST', route: '/chat', status_code: '200' })[0]?.value ?? 0;
    expect(chats(after) - chats(before)).toBe(1);
    const cost = (samples: typeof after): number =>
      find(samples, 'llmscope_llm_cost_usd_total', { model: 'sim-gpt', feature: 'chat', prompt_name: 'rag-answer', prompt_version: 'v1' })[0]?.value ?? 0;
    // Priced with the example's SIMULATED_PRICES: $0.15 / $0.60 per million tokens.
    const input = llm.attributes['gen_ai.usage.input_tokens'] as number;
    const output = llm.attributes['gen_ai.usage.output_tokens'] as number;
    expect(cost(after) - cost(before)).toBeCloseTo((input * 0.15 + output * 0.6) / 1e6, 12);
  });

  test('the trace prints as a tree, one line per span', async () => {
    const { body } = await ask('How much does Orbit Notes Pro cost?');
    const printed = trees.find((t) => t.includes(body.traceId)) ?? '';
    const lines = printed.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^POST /chat \\d+ms \\(1 LLM call, in \\d+ / out \\d+ tok, \\$\\d\\.\\d{6}\\) → 200  user alice  session s-1  trace ${body.traceId}$`));
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^├ embed_query \d+ms$/),
      expect.stringMatching(/^├ vector_search \d+ms$/),
      expect.stringMatching(/^├ prompt_construction \d+ms$/),
      expect.stringMatching(/^├ chat sim-gpt \d+ms \(in \d+ \/ out \d+ tok, \$\d+\.\d{6}\)$/),
      expect.stringMatching(/^└ response_formatting \d+ms$/),
    ]);
  });

  test('answers are scored: citation accuracy (code), relevance (judge), and feedback with the trace id (human), by prompt version', async () => {
    await checkScoring(app.url, { prompt_name: 'rag-answer', prompt_version: 'v1' });
  });

  test('GET / lists the endpoints and the curl lines; a bad body gets a 400', async () => {
    const res = await request(app.url).get('/').expect(200);
    expect(res.body.endpoints.map((e: { method: string; path: string }) => `${e.method} ${e.path}`)).toEqual(['GET /', 'POST /chat', 'POST /llmscope/feedback', 'GET /metrics']);
    expect(res.body.try.feedback).toContain(`${app.url}/llmscope/feedback`);
    await request(app.url).post('/chat').send({ question: 42 }).expect(400);
  });

  // Last: the scoring test above counts every answer as a v1 one.
  test('the prompt experiment: each user gets a version of rag-answer (alice v1, erin v2), on the span and the cost by prompt version', async () => {
    const asked = async (user: string): Promise<ReadableSpan> => {
      const res = await request(app.url).post('/chat').set('x-user-id', user).send({ question: 'Can I use Orbit Notes offline?' }).expect(200);
      const traceId = res.body.traceId as string;
      const spans = await waitForSpans(exporter, (all) => all.some((s) => s.spanContext().traceId === traceId && s.name === 'chat sim-gpt'));
      return spans.find((s) => s.spanContext().traceId === traceId && s.name === 'chat sim-gpt') as ReadableSpan;
    };
    const v1 = await asked('alice');
    const v2 = await asked('erin');
    expect(v1.attributes).toMatchObject({ 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': 'v1', 'llmscope.prompt.experiment': 'rag-answer' });
    expect(v2.attributes).toMatchObject({ 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': 'v2', 'llmscope.prompt.experiment': 'rag-answer' });
    // v2's longer system prompt: more input tokens for the same question, the same answer.
    expect(v2.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(v1.attributes['gen_ai.usage.input_tokens'] as number);
    expect(v2.attributes['gen_ai.usage.output_tokens']).toBe(v1.attributes['gen_ai.usage.output_tokens']);
    const samples = parseMetrics((await request(app.url).get('/metrics').expect(200)).text);
    expect(find(samples, 'llmscope_llm_cost_usd_total', { model: 'sim-gpt', prompt_name: 'rag-answer', prompt_version: 'v2' })[0]?.value).toBeGreaterThan(0);
    expect(find(samples, 'llmscope_prompt_experiment_weight', { prompt_name: 'rag-answer', prompt_version: 'v2' })[0]?.value).toBe(0.2);
  });
});

describe('npm start', () => {
  test('starts the server, prints the banner, answers /chat and prints the trace tree', async () => {
    const root = join(__dirname, '..', '..', '..');
    // Its own process group, so that npm, tsx and node all stop together.
    const child = spawn('npm', ['start'], { cwd: root, env: { ...process.env, PORT: '0', NODE_ENV: 'development', SIM_LLM_SPEED: '' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const [, url] = await waitFor(/listening on (http:\/\/localhost:\d+)/, 30000);
      expect(stdout).toContain(`curl -s ${url}/chat`);
      // The console's URL, printed at start, serves the console.
      expect(stdout).toContain(`Console: ${url}/llmscope `);
      expect((await fetch(`${url}/llmscope`)).headers.get('content-security-policy')).toContain("script-src 'self'");
      const res = await fetch(`${url}/chat`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': 'bob' }, body: JSON.stringify({ question: 'Is my data encrypted?' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { answer: string; traceId: string };
      expect(body.answer).toContain('AES-256');
      const [tree] = await waitFor(new RegExp(`POST /chat \\d+ms \\(1 LLM call, in \\d+ / out \\d+ tok, \\$\\d\\.\\d{6}\\) → 200  user bob  trace ${body.traceId}\\n(?:[├└].*\\n){5}`), 15_000);
      expect(tree).toMatch(/├ chat sim-gpt \d+ms \(in \d+ \/ out \d+ tok, \$\d+\.\d{6}\)\n└ response_formatting \d+ms\n$/);
      // The banner's feedback line, with the answer's trace id in place of <traceId>, runs as printed.
      const [feedback] = await waitFor(new RegExp(`curl -s ${url}/llmscope/feedback .*`), 15_000);
      const { stdout: answer } = await promisify(execFile)('sh', ['-c', feedback.replace('<traceId>', body.traceId)]);
      expect(JSON.parse(answer)).toEqual({ accepted: true, traceId: body.traceId, name: 'thumbs' });
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  }, 60000);
});
