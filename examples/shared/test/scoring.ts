/**
 * The scoring scenario the three example apps' tests share: a real `/chat` request, then the
 * scores in `/metrics` (the evaluators run off the response path: polled, at most 5 s), then a
 * feedback post that lands as a human score.
 */
import { find, parseMetrics, type Sample } from '@llmscope/testkit';

/** `/metrics` of the app at `url`, parsed. */
export async function metricsOf(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** Sum of `llmscope_quality_score_{count|sum}` over the series whose labels match. */
export function quality(samples: Sample[], stat: 'count' | 'sum', labels: Record<string, string>): number {
  return find(samples, `llmscope_quality_score_${stat}`, labels).reduce((total, s) => total + s.value, 0);
}

/** Polls `/metrics` until `done` holds (bounded: the evaluators run after the response). */
export async function waitForMetrics(url: string, done: (samples: Sample[]) => boolean, timeoutMs = 15_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await metricsOf(url);
    if (done(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`the metrics never matched within ${timeoutMs} ms:\n${find(samples, 'llmscope_quality_score_count').map((s) => JSON.stringify(s)).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The prompt a scored example answers with. */
export interface PromptLabels {
  prompt_name: string;
  prompt_version: string;
}

/**
 * Asks the app at `url` one question and checks its three kinds of scores: `citation_accuracy`
 * (code, every call: 1, the answer cites only retrieved documents), `relevance` (the judge, the
 * app sampling every call; `judgeScore` its verdict), and a feedback post with the answer's trace id (202, a `human` score);
 * each under the example's prompt name and version. Feedback without `x-user-id` gets a 403.
 */
export async function checkScoring(url: string, prompt: PromptLabels, judgeScore = 1): Promise<void> {
  const labels = { ...prompt, feature: 'chat' };
  const citation = { ...labels, name: 'citation_accuracy', evaluator: 'citation_accuracy', source: 'code' };
  const judge = { ...labels, name: 'relevance', evaluator: 'judge-relevance', source: 'judge' };
  const human = { ...labels, name: 'thumbs', evaluator: 'feedback', source: 'human' };
  // Earlier requests' evaluations may still be landing: wait until every LLM call so far is scored.
  const settled = (s: Sample[]): boolean => {
    // Every answered /chat is one LLM call, citing a retrieved document.
    const calls = find(s, 'http_server_requests_total', { route: '/chat', status_code: '200' }).reduce((t, x) => t + x.value, 0);
    return quality(s, 'count', citation) >= calls && quality(s, 'count', judge) >= calls;
  };
  const before = await waitForMetrics(url, settled);

  const res = await fetch(`${url}/chat`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': 'carol' }, body: JSON.stringify({ question: 'How much does Orbit Notes Pro cost?' }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { answer: string; traceId: string };
  // The simulated LLM cites the retrieved documents by id.
  expect(body.answer).toMatch(/\$8 per month.*\[pricing\]/);

  const after = await waitForMetrics(url, (s) => quality(s, 'count', citation) > quality(before, 'count', citation) && quality(s, 'count', judge) > quality(before, 'count', judge));
  expect(quality(after, 'count', citation) - quality(before, 'count', citation)).toBe(1);
  expect(quality(after, 'sum', citation) - quality(before, 'sum', citation)).toBe(1);
  expect(quality(after, 'count', judge) - quality(before, 'count', judge)).toBe(1);
  // The simulated judge's verdict (1: the answer covers every key word of the question).
  expect(quality(after, 'sum', judge) - quality(before, 'sum', judge)).toBeCloseTo(judgeScore, 9);
  // The judge's own calls are priced apart, under feature llmscope.judge, and never judged.
  expect(find(after, 'llmscope_llm_cost_usd_total', { feature: 'llmscope.judge' })[0]?.value ?? 0).toBeGreaterThan(0);
  expect(find(after, 'llmscope_evaluations_total', { outcome: 'error' })).toEqual([]);

  const feedback = (headers: Record<string, string>): Promise<Response> => fetch(`${url}/llmscope/feedback`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ traceId: body.traceId, name: 'thumbs', value: 1, comment: 'spot on' }),
  });
  expect((await feedback({})).status).toBe(403);
  const accepted = await feedback({ 'x-user-id': 'carol' });
  expect(accepted.status).toBe(202);
  expect(await accepted.json()).toMatchObject({ accepted: true, traceId: body.traceId, name: 'thumbs' });
  const scored = await waitForMetrics(url, (s) => quality(s, 'count', human) > quality(before, 'count', human));
  expect(quality(scored, 'count', human) - quality(before, 'count', human)).toBe(1);
  expect(quality(scored, 'sum', human) - quality(before, 'sum', human)).toBe(1);
}
