import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { LlmServer } from '../src';

let llm: LlmServer;
beforeAll(async () => {
  llm = await LlmServer.start();
});
afterAll(() => llm.close());
afterEach(() => llm.reset());

const openai = (): OpenAI => new OpenAI({ apiKey: 'k', baseURL: llm.openaiBaseURL, maxRetries: 1 });
const anthropic = (): Anthropic => new Anthropic({ apiKey: 'k', baseURL: llm.anthropicBaseURL, maxRetries: 1 });

async function rawStream(path: string, body: object): Promise<string> {
  const res = await fetch(`${llm.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  return res.text();
}

describe('LlmServer speaks the OpenAI API', () => {
  test('chat completion, as the real client parses it', async () => {
    llm.enqueue({ text: 'Hi there', usage: { input: 11, output: 2, cacheRead: 4 }, model: 'gpt-4o-mini-2024-07-18' });
    const r = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(r).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [{ message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }] });
    expect(r.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 2, total_tokens: 13, prompt_tokens_details: { cached_tokens: 4 } });
    expect(llm.requests[0]).toMatchObject({ api: 'chat', path: '/v1/chat/completions', status: 200, body: { model: 'gpt-4o-mini' } });
    expect(llm.requests[0]?.headers.authorization).toBe('Bearer k');
  });

  test('SSE stream: data chunks, the include_usage chunk, then [DONE]', async () => {
    llm.enqueue({ text: 'one two three', chunks: 3, usage: { input: 5, output: 3 } });
    const text = await rawStream('/v1/chat/completions', { model: 'm', stream: true, stream_options: { include_usage: true } });
    const events = text.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[]; usage: unknown });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('one two three');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3 } });
    expect(chunks[0]?.usage).toBeNull();

    const stream = await openai().chat.completions.create({ model: 'm', messages: [], stream: true });
    const seen: unknown[] = [];
    for await (const c of stream) seen.push(c.usage);
    expect(seen.every((u) => u === undefined)).toBe(true); // no include_usage: no usage at all
  });

  test('slow first token and slow chunks are injected where asked', async () => {
    llm.enqueue({ firstChunkDelayMs: 200, chunkDelayMs: 30, chunks: 3 });
    const start = performance.now();
    const stream = await openai().chat.completions.create({ model: 'm', messages: [], stream: true });
    const headers = performance.now() - start;
    const times: number[] = [];
    for await (const c of stream) if (c.choices[0]?.delta.content) times.push(performance.now() - start);
    expect(times[0]).toBeGreaterThanOrEqual(200);
    // The headers are not held back until the first token: they come well before it (half the
    // delay: relative, so that a loaded machine delaying both does not matter).
    expect((times[0] as number) - headers).toBeGreaterThanOrEqual(100);
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual(50);
  });

  test('responses (streamed and not) and embeddings (base64, as the SDK asks)', async () => {
    llm.enqueue({ text: 'abc def', usage: { input: 3, output: 2 } });
    const r = await openai().responses.create({ model: 'gpt-4o', input: 'q' });
    expect(r.output_text).toBe('abc def');
    expect(r.usage).toMatchObject({ input_tokens: 3, output_tokens: 2 });
    const events: string[] = [];
    llm.enqueue({ text: 'abc def', chunks: 2 });
    for await (const e of await openai().responses.create({ model: 'gpt-4o', input: 'q', stream: true })) events.push(e.type);
    expect(events).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done',
      'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    // The SDK's stream helper builds the answer from the item and content-part events.
    llm.enqueue({ text: 'abc def', chunks: 2 });
    expect((await openai().responses.stream({ model: 'gpt-4o', input: 'q' }).finalResponse()).output_text).toBe('abc def');
    llm.enqueue({ dimensions: 4 });
    const e = await openai().embeddings.create({ model: 'text-embedding-3-small', input: ['x', 'y'] });
    expect(llm.requests.at(-1)?.body.encoding_format).toBe('base64');
    expect(e.data.map((d) => d.embedding.length)).toEqual([4, 4]);
    expect(e.data[0]?.embedding).not.toEqual(e.data[1]?.embedding);
  });

  test('errors: 429 with retry-after (retried by the SDK), 401, 500', async () => {
    llm.enqueue({ status: 429, retryAfterSeconds: 0.05 }, { text: 'after retry' });
    const start = performance.now();
    const r = await openai().chat.completions.create({ model: 'm', messages: [] });
    expect(r.choices[0]?.message.content).toBe('after retry');
    expect(performance.now() - start).toBeGreaterThanOrEqual(50);
    expect(llm.requests.map((x) => x.status)).toEqual([429, 200]);
    llm.enqueue({ status: 401, errorMessage: 'Incorrect API key provided' });
    await expect(openai().chat.completions.create({ model: 'm', messages: [] })).rejects.toMatchObject({ status: 401, message: expect.stringContaining('Incorrect API key') });
    llm.enqueue({ status: 500 }, { status: 500 });
    await expect(openai().chat.completions.create({ model: 'm', messages: [] })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });
});

describe('LlmServer speaks the Anthropic API', () => {
  test('message with prompt-cache usage', async () => {
    llm.enqueue({ usage: { input: 10, output: 4, cacheRead: 100, cacheCreation: 20 } });
    const m = await anthropic().messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(m).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 } });
    const h = llm.requests[0]?.headers;
    expect(h?.['x-api-key'] ?? h?.authorization).toMatch(/k$/);
    expect(h?.['anthropic-version']).toBeDefined();
  });

  test('SSE events in order, as the real client and its MessageStream read them', async () => {
    llm.enqueue({ text: 'a b', chunks: 2 });
    const text = await rawStream('/v1/messages', { model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [], stream: true });
    const names = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(names).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    llm.enqueue({ text: 'streamed reply', usage: { input: 8, output: 2 } });
    const final = await anthropic().messages.stream({ model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [] }).finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'streamed reply' }]);
    expect(final.usage).toMatchObject({ input_tokens: 8, output_tokens: 2 });
  });

  test('overloaded (529) and a timeout from a slow server', async () => {
    llm.enqueue({ status: 529 }, { status: 529 });
    await expect(anthropic().messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [] })).rejects.toMatchObject({ status: 529 });
    llm.enqueue({ headersDelayMs: 1000 });
    const slow = new Anthropic({ apiKey: 'k', baseURL: llm.anthropicBaseURL, maxRetries: 0, timeout: 100 });
    await expect(slow.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [] })).rejects.toBeInstanceOf(Anthropic.APIConnectionError);
  });
});
