import type OpenAI6 from 'openai';
import OpenAI7 from 'openai7';
import type { ChatCompletionChunk } from 'openai7/resources/chat/completions';
import type { Stream } from 'openai7/streaming';
import type { LlmServer } from '@llmscope/testkit';
import { Llmscope, instrumentOpenAI } from '../../src';
import { describeOpenAI } from './openai-suite';
import { inRequest, llmSpans, scopeOptions, useLlmServer } from './sdk-harness';

// openai 7 (the `openai7` devDependency, an alias of openai@7) requires Node 22 (its engines), so
// this file is the Jest project `core-node22`, part of a run on Node 22 and later only:
// scripts/test-node-versions.mjs runs it on Node 22 and 24 within `npm test`.
//
// The suite is typed with openai 6's declarations; openai 7's public API is the same, but its
// classes have private members of their own, which TypeScript compares nominally, hence the cast.
// The test below holds openai 7's own types.
describeOpenAI(7, OpenAI7 as unknown as typeof OpenAI6);

describe('instrumentOpenAI keeps openai 7 types', () => {
  const server = useLlmServer();

  test('the instrumented client is the same object, typed as the openai 7 client; overloads keep their results', async () => {
    const llm: LlmServer = server();
    const plain = new OpenAI7({ apiKey: 'test-key', baseURL: llm.openaiBaseURL });
    const client: OpenAI7 = instrumentOpenAI(plain);
    expect(client).toBe(plain);
    const scope = new Llmscope(scopeOptions);
    llm.enqueue({ usage: { input: 3, output: 2 } });
    const stream: Stream<ChatCompletionChunk> = await inRequest(scope, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true, stream_options: { include_usage: true } }));
    const kinds: string[] = [];
    for await (const chunk of stream) kinds.push(chunk.object);
    expect(kinds.every((k) => k === 'chat.completion.chunk')).toBe(true);
    expect(llmSpans()[0]?.attributes['gen_ai.usage.output_tokens']).toBe(2);
  });
});
