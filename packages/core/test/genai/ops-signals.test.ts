/**
 * The signals the alert tiers of ops/prometheus need (issue 15 item 6), read from a real
 * /metrics scrape of a real app: the 15 s bucket of the LLM duration histogram, the queue
 * processed counter beside the depth gauge, and the cache hit rate per cache name.
 */
import express from 'express';
import { llmscope, recordCacheLookup, recordQueueProcessed, traceLLM, trackQueueDepth, LLM_DURATION_BUCKETS, GEN_AI_DURATION_BUCKETS } from '@llmscope/express';
import { find, listen, parseMetrics, type Listening, type Sample } from '@llmscope/testkit';

let app: Listening;
let stopQueue: () => void;
let depth = 0;

beforeAll(async () => {
  const server = express();
  server.use(llmscope({ metrics: { defaultMetrics: false }, tracing: false }));
  stopQueue = trackQueueDepth('jobs', () => depth);
  server.post('/llm', async (_req, res) => {
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({ usage: { prompt_tokens: 3, completion_tokens: 1 } }));
    res.json({ ok: true });
  });
  server.post('/lookup/:cache/:hit', (req, res) => {
    recordCacheLookup(req.params.cache, req.params.hit === 'hit');
    res.end();
  });
  server.post('/work/:n', (req, res) => {
    recordQueueProcessed('jobs', Number(req.params.n));
    res.end();
  });
  server.post('/work', (_req, res) => {
    recordQueueProcessed('jobs');
    res.end();
  });
  app = await listen(server);
});

afterAll(async () => {
  stopQueue();
  await app.close();
});

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${app.url}/metrics`);
  expect(res.status).toBe(200);
  return parseMetrics(await res.text());
}

const post = (path: string): Promise<Response> => fetch(app.url + path, { method: 'POST' });

test('the LLM duration histogram has a 15 s bucket (and only that one more than the GenAI semconv list)', async () => {
  expect(LLM_DURATION_BUCKETS.filter((b) => !GEN_AI_DURATION_BUCKETS.includes(b))).toEqual([15]);
  await post('/llm');
  const s = await scrape();
  const les = find(s, 'gen_ai_client_operation_duration_seconds_bucket', { model: 'gpt-4o-mini', outcome: 'ok' }).map((x) => x.labels.le);
  expect(les).toEqual([...LLM_DURATION_BUCKETS.map(String), '+Inf']);
  expect(find(s, 'gen_ai_client_operation_duration_seconds_bucket', { model: 'gpt-4o-mini', le: '15' })[0]?.value).toBe(1);
  // The time-to-first-chunk histogram keeps the semconv buckets: nothing alerts on 15 s there.
  expect(find(s, 'gen_ai_client_operation_time_to_first_chunk_seconds_bucket')).toHaveLength(0);
});

test('llmscope_queue_processed_total counts items beside llmscope_queue_depth; bad counts are ignored', async () => {
  depth = 4;
  await post('/work');
  await post('/work/3');
  await post('/work/0');
  await post('/work/-2');
  await post('/work/NaN');
  let s = await scrape();
  expect(find(s, 'llmscope_queue_depth', { queue: 'jobs' })[0]?.value).toBe(4);
  expect(find(s, 'llmscope_queue_processed_total').map((x) => [x.labels.queue, x.value])).toEqual([['jobs', 4]]);
  depth = 0;
  await post('/work');
  s = await scrape();
  expect(find(s, 'llmscope_queue_depth', { queue: 'jobs' })[0]?.value).toBe(0);
  expect(find(s, 'llmscope_queue_processed_total', { queue: 'jobs' })[0]?.value).toBe(5);
});

test('cache hit rate per cache name: hits and lookups of each cache apart', async () => {
  for (const [cache, hit] of [['answers', 'hit'], ['answers', 'hit'], ['answers', 'miss'], ['embeddings', 'miss'], ['embeddings', 'hit'], ['embeddings', 'miss'], ['embeddings', 'miss']]) {
    await post(`/lookup/${cache}/${hit}`);
  }
  const s = await scrape();
  const rate = (cache: string): number => {
    const hits = find(s, 'llmscope_cache_requests_total', { cache, result: 'hit' })[0]?.value ?? 0;
    const all = find(s, 'llmscope_cache_requests_total', { cache }).reduce((n, x) => n + x.value, 0);
    return hits / all;
  };
  expect(rate('answers')).toBeCloseTo(2 / 3, 10);
  expect(rate('embeddings')).toBeCloseTo(1 / 4, 10);
});
