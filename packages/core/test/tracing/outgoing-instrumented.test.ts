/**
 * An app that registered OpenTelemetry's own HTTP or undici instrumentation keeps it: llmscope
 * adds no span and no second `traceparent` to the calls it handles, even when it was set up
 * after llmscope.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { listen, OtlpReceiver } from '@llmscope/testkit';
import { step, withLlmscope } from '@llmscope/node';

const CLIENT = 3;

// In a child process: instrumentation-http hooks Node's `require`, which Jest's module system bypasses.
test("calls made with the app's instrumentation-http are its own: one traceparent, its span, child of the step", async () => {
  const received: { path: string; traceparent: string | string[] | undefined }[] = [];
  const downstream = await listen((req, res) => {
    received.push({ path: req.url ?? '', traceparent: req.headers.traceparent });
    res.end('ok');
  });
  const receiver = await new OtlpReceiver().start();
  // tsx as a loader in this node process (its CLI would put a wrapper process in between).
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'instrumented-app.ts')], {
    env: { ...process.env, NODE_OPTIONS: '', RECEIVER_URL: receiver.tracesUrl, DOWNSTREAM_URL: downstream.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const app = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\S+)/.exec(out);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`the app exited early (${code}): ${out}`)));
    });
    const res = await fetch(`${app}/call`);
    expect(await res.text()).toBe('done');
    const traceId = res.headers.get('x-trace-id') ?? '';
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await (await fetch(`${app}/shutdown`)).text();
    await exited;

    const spans = receiver.trace(traceId);
    const stepSpan = spans.find((s) => s.name === 'vector_search');
    const clients = spans.filter((s) => s.kind === CLIENT);
    // http: the instrumentation's span only, child of the step, and its traceparent, once.
    const otel = clients.filter((s) => s.scope.name === '@opentelemetry/instrumentation-http');
    expect(otel).toHaveLength(1);
    expect(otel[0]?.parentSpanId).toBe(stepSpan?.spanId);
    expect(received.find((r) => r.path === '/http-search')?.traceparent).toBe(`00-${traceId}-${otel[0]?.spanId}-01`);
    // fetch: no undici instrumentation in this app, so llmscope's span.
    const ours = clients.filter((s) => s.scope.name === '@llmscope/core');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.attributes['url.full']).toBe(`${downstream.url}/fetch-search`);
    expect(received.find((r) => r.path === '/fetch-search')?.traceparent).toBe(`00-${traceId}-${ours[0]?.spanId}-01`);
    // A call the app's instrumentation skips is left alone by llmscope too.
    expect(received.find((r) => r.path === '/http-ignored')).toEqual({ path: '/http-ignored', traceparent: undefined });
    expect(clients).toHaveLength(2);
  } finally {
    child.kill();
    await downstream.close();
    await receiver.close();
  }
});

test("fetch calls with the app's instrumentation-undici (enabled after llmscope) are its own: its span only, one traceparent", async () => {
  const received: { path: string; traceparent: string | string[] | undefined }[] = [];
  const downstream = await listen((req, res) => {
    received.push({ path: req.url ?? '', traceparent: req.headers.traceparent });
    res.end('ok');
  });
  const receiver = await new OtlpReceiver().start();
  const handler = withLlmscope(async (_req: IncomingMessage, res: ServerResponse) => {
    await step('vector_search', async () => (await fetch(`${downstream.url}/search`)).arrayBuffer());
    res.end('done');
  }, { metrics: false, exporters: { otlp: { url: receiver.tracesUrl } } });
  // Subscribed to undici's channels after llmscope: its handler runs after llmscope's.
  const instrumentation = new UndiciInstrumentation();
  const app = await listen(handler);
  try {
    const res = await fetch(`${app.url}/`);
    expect(await res.text()).toBe('done');
    const traceId = res.headers.get('x-trace-id') ?? '';
    await handler.llmscope.shutdown();
    const spans = receiver.trace(traceId);
    // The instrumentation also traced this test's own call to the app (the trace's root).
    const clients = spans.filter((s) => s.kind === CLIENT && s.parentSpanId !== '');
    expect(clients.map((s) => s.scope.name)).toEqual(['@opentelemetry/instrumentation-undici']);
    expect(clients[0]?.parentSpanId).toBe(spans.find((s) => s.name === 'vector_search')?.spanId);
    expect(spans.filter((s) => s.scope.name === '@llmscope/core' && s.kind === CLIENT)).toEqual([]);
    expect(received).toEqual([{ path: '/search', traceparent: `00-${traceId}-${clients[0]?.spanId}-01` }]);
  } finally {
    instrumentation.disable();
    await app.close();
    await downstream.close();
    await receiver.close();
  }
});
