import type { AddressInfo } from 'node:net';
import { LlmServer } from '@llmscope/testkit';
import { createApp } from './app';

// A real OpenAI-compatible API when OPENAI_API_KEY is set (OPENAI_BASE_URL for another server),
// else the testkit's local LLM server, which speaks the OpenAI API (streaming and usage included).
async function main(): Promise<void> {
  const local = process.env.OPENAI_API_KEY === undefined ? await LlmServer.start() : undefined;
  if (local !== undefined) local.defaults = { text: 'Answer from the local testkit LLM server: set OPENAI_API_KEY for a real model. [pricing]', firstChunkDelayMs: 200, chunkDelayMs: 20 };
  const app = createApp({
    baseURL: local?.openaiBaseURL ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
    apiKey: process.env.OPENAI_API_KEY ?? 'local',
    model: process.env.OPENAI_MODEL,
  });
  const port = Number(process.env.PORT ?? 3000);
  const server = app.listen(port, () => {
    const url = `http://localhost:${(server.address() as AddressInfo).port}`;
    process.stdout.write(`llmscope LangChain.js RAG example listening on ${url}${local === undefined ? '' : ` (LLM: the testkit server at ${local.url})`}\n\nTry:\n  curl -s ${url}/chat -H 'content-type: application/json' -H 'x-user-id: alice' -d '{"question":"How much does Orbit Notes Pro cost?"}'\n  curl -s ${url}/metrics | grep llmscope_llm\n\n`);
  });
  // Ctrl+C or a container stop: finish the requests in flight, flush the spans, then exit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server.close(() => void app.llmscope.shutdown().then(() => local?.close()).then(() => process.exit(0)));
      server.closeIdleConnections();
    });
  }
}

void main();
