import { calcPrice } from '@pydantic/genai-prices';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LlmServer, find, memoryExporter, parseMetrics, type Sample } from '@llmscope/testkit';
import type { Llmscope } from '../../src';

// What the SDK suites share (the OpenAI suite runs once per `openai` major, in files of their
// own): the span exporter, the local LLM server and the helpers reading what llmscope recorded.

/** The in-memory exporter of the test file (one global tracer provider per Jest module registry). */
export const exporter = memoryExporter();

/** Options of the Llmscope instances the suites create: no process metrics in the scrapes. */
export const scopeOptions = { metrics: { defaultMetrics: false } } as const;

/**
 * Starts an {@link LlmServer} for the enclosing describe block (closed after it), resets it and
 * the exporter after each test, and returns an accessor (the server exists once beforeAll ran).
 */
export function useLlmServer(): () => LlmServer {
  let llm: LlmServer | undefined;
  beforeAll(async () => {
    llm = await LlmServer.start();
  });
  afterAll(() => llm?.close());
  afterEach(() => {
    exporter.reset();
    llm?.reset();
  });
  return () => {
    if (llm === undefined) throw new Error('the LLM server is started in beforeAll');
    return llm;
  };
}

/** The instance's metrics, parsed. */
export async function samples(scope: Llmscope): Promise<Sample[]> {
  return parseMetrics((await scope.handleMetrics(undefined)).body);
}

/** Runs `fn` inside a request of `scope` (user u1, session s1), as an adapter would. */
export async function inRequest<T>(scope: Llmscope, fn: () => Promise<T>): Promise<T> {
  const ctx = scope.startRequest('POST', '/chat', { 'x-user-id': 'u1', 'x-session-id': 's1' }, undefined);
  try {
    return await scope.run(ctx, fn);
  } finally {
    scope.finishRequest(ctx, 200);
  }
}

/** llmscope's LLM spans (CLIENT spans of `@llmscope/core`), in the order they ended. */
export function llmSpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === '@llmscope/core' && s.kind === SpanKind.CLIENT);
}

/** The price of `usage` from the price table llmscope uses, computed independently of llmscope. */
export function usd(model: string, provider: string, usage: Record<string, number>): number {
  const r = calcPrice(usage, model, { providerId: provider });
  if (r === null) throw new Error(`no price for ${model}`);
  return r.total_price;
}

/** The app's `/metrics` over HTTP, parsed (the request must answer 200). */
export async function scrapeApp(baseUrl: string): Promise<Sample[]> {
  const res = await fetch(`${baseUrl}/metrics`);
  expect(res.status).toBe(200);
  return parseMetrics(await res.text());
}

/** The sum of the samples of `name` whose labels include `labels` (0 when none). */
export function sumOf(s: Sample[], name: string, labels: Record<string, string>): number {
  return find(s, name, labels).reduce((n, x) => n + x.value, 0);
}

/** POSTs to the app and expects 200 (the body is read and dropped). */
export async function postOk(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(baseUrl + path, { method: 'POST', headers });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}
