import {
  answerQuestion, countTokens, cosineSimilarity, curlLine, DATA_SOURCE_ID, DOCUMENTS, embed, EMBEDDING_DIMENSIONS, feedbackCurlLine,
  formatBanner, InMemoryVectorStore, SimulatedLLM, speedFromEnv,
} from '../src';

describe('example kit', () => {
  test('token counts and embeddings are deterministic', () => {
    expect(countTokens('How much does Orbit Notes Pro cost?')).toBe(countTokens('How much does Orbit Notes Pro cost?'));
    expect(countTokens('')).toBe(0);
    expect(countTokens('Hello, world!')).toBe(4);
    const v = embed('offline sync');
    expect(v).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(v).toEqual(embed('offline sync'));
    expect(cosineSimilarity(v, v)).toBeCloseTo(1, 10);
    expect(cosineSimilarity(v, embed(''))).toBe(0);
  });

  test('the vector store ranks the relevant document first and leaves unrelated ones out', () => {
    const store = new InMemoryVectorStore(DATA_SOURCE_ID).add(DOCUMENTS);
    expect(store.size).toBe(10);
    expect(store.search(embed('How do I export my notes to PDF?'), 3)[0]?.document.id).toBe('export');
    // id and text at the top level: what llmscope keeps from a retrieval step for evaluators.
    expect(store.search(embed('Is my data encrypted?'), 1)[0]).toMatchObject({ id: 'security', text: expect.stringContaining('AES-256') });
    expect(store.search(embed('Is my data encrypted?'), 3)[0]?.document.id).toBe('security');
    expect(store.search(embed('What is the capital of France?'), 3)).toEqual([]);
  });

  test('the simulated LLM answers like the OpenAI API, deterministically, honouring max_tokens', async () => {
    const llm = new SimulatedLLM({ speed: 0 });
    const messages = [{ role: 'user' as const, content: 'Context:\n[1] Offline: Orbit Notes works offline. Cats are nice.\n\nQuestion: Does it work offline?' }];
    const a = await llm.chat.completions.create({ model: 'sim-gpt', messages });
    const b = await llm.chat.completions.create({ model: 'sim-gpt', messages });
    expect(a.choices[0]?.message.content).toBe('Orbit Notes works offline. [1]');
    expect({ ...a, created: 0 }).toEqual({ ...b, created: 0 });
    expect(a).toMatchObject({ object: 'chat.completion', model: 'sim-gpt', choices: [{ finish_reason: 'stop' }] });
    expect(a.usage.total_tokens).toBe(a.usage.prompt_tokens + a.usage.completion_tokens);
    const cut = await llm.chat.completions.create({ model: 'sim-gpt', messages, max_tokens: 3 });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage.completion_tokens).toBeLessThanOrEqual(3);
    const none = await llm.chat.completions.create({ model: 'sim-gpt', messages: [{ role: 'user', content: 'Context:\n\nQuestion: Why?' }] });
    expect(none.choices[0]?.message.content).toMatch(/does not answer/);
  });

  test('the simulated LLM cites document ids, and grades answers like a judge asked for {score, reason}', async () => {
    const llm = new SimulatedLLM({ speed: 0 });
    const rag = await llm.complete({ model: 'm', messages: [{ role: 'user', content: 'Context:\n[sync] Sync: Notes sync in real time.\n\nQuestion: Do notes sync?' }] });
    expect(rag.choices[0]?.message.content).toBe('Notes sync in real time. [sync]');
    const judge = async (question: string, answer: string): Promise<unknown> => JSON.parse((await llm.complete({
      model: 'm', messages: [{ role: 'user', content: `Grade.\n\nQuestion:\n<<<\n${question}\n>>>\n\nAnswer:\n<<<\n${answer}\n>>>\n\nReply with JSON.` }],
    })).choices[0]?.message.content ?? '');
    expect(await judge('Context:\n[sync] ...\n\nQuestion: Do notes sync?', 'Notes sync in real time. [sync]')).toEqual({ score: 1, reason: 'The answer covers 2 of the 2 key words of the question.' });
    expect(await judge('Do notes sync offline?', 'Notes sync in real time. [sync]')).toMatchObject({ score: 0.8 });
    expect(await judge('Why?', 'The provided context does not answer this question.')).toMatchObject({ score: 0.1 });
  });

  test('latency is realistic at speed 1 and scales with the speed factor', async () => {
    const messages = [{ role: 'user' as const, content: 'Context:\n[1] Sync: Notes sync in real time.\n\nQuestion: Do notes sync?' }];
    let start = performance.now();
    await new SimulatedLLM({ speed: 1 }).complete({ model: 'm', messages });
    const slow = performance.now() - start;
    // The fastest of three: one timer of a loaded CI machine can fire tens of ms late.
    let fast = Infinity;
    for (let i = 0; i < 3; i++) {
      start = performance.now();
      await new SimulatedLLM({ speed: 10 }).complete({ model: 'm', messages });
      fast = Math.min(fast, performance.now() - start);
    }
    expect(slow).toBeGreaterThanOrEqual(150);
    expect(fast).toBeLessThan(slow / 3);
    expect(speedFromEnv({ SIM_LLM_SPEED: '10' })).toBe(10);
    expect(speedFromEnv({ SIM_LLM_SPEED: 'instant' })).toBe(0);
    expect(speedFromEnv({ SIM_LLM_SPEED: 'fast' })).toBe(1);
    expect(speedFromEnv({})).toBe(1);
  });

  test('answerQuestion works without any llmscope instance (plain OpenTelemetry no-op)', async () => {
    const answer = await answerQuestion('Can I use Orbit Notes offline?', { speed: 0 });
    expect(answer.answer).toContain('works offline');
    expect(answer.sources[0]).toMatchObject({ id: 'offline', title: 'Working offline' });
    expect(answer.model).toBe('sim-gpt');
    expect(answer.usage).toEqual({ inputTokens: 199, outputTokens: 22 });
  });

  test('the banner shows the URLs and a curl line that is valid shell', () => {
    const banner = formatBanner({ framework: 'Fastify', port: 4321 });
    expect(banner).toContain('llmscope Fastify RAG example listening on http://localhost:4321');
    expect(banner).toContain('POST http://localhost:4321/chat');
    expect(banner).toContain('GET  http://localhost:4321/metrics');
    expect(banner).toContain(curlLine('http://localhost:4321'));
    expect(banner).toContain(feedbackCurlLine('http://localhost:4321'));
    expect(feedbackCurlLine('http://h:1', 'abc')).toBe(`curl -s http://h:1/llmscope/feedback -H 'content-type: application/json' -H 'x-user-id: alice' -d '{"traceId":"abc","name":"thumbs","value":1,"comment":"helpful"}'`);
    expect(curlLine('http://h:1', "What's new?")).toContain(`-d '{"question":"What'\\''s new?"}'`);
    // The console's URL when it is mounted, nothing about it otherwise.
    expect(formatBanner({ framework: 'Express', port: 1, console: { enabled: true, path: '/llmscope' } })).toContain('Console: http://localhost:1/llmscope ');
    expect(banner).not.toContain('Console:');
    expect(formatBanner({ framework: 'Express', port: 1, console: { enabled: false, path: '/llmscope' } })).not.toContain('Console:');
  });
});
