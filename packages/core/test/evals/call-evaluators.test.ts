/**
 * Evaluators given to one call (`traceLLM({ evaluators })`, what `@TraceLLM({ evaluators })`
 * passes): they run on that call's record only, off the response path, like configured ones.
 */
import { find, parseMetrics } from '@llmscope/testkit';
import { traceLLM, type Evaluator } from '../../src';
import { completion, ragApp } from '../exporters/exporter-app';

const lengthCheck: Evaluator[] = [{
  name: 'has_output',
  evaluate: ({ record }) => ({ value: (record.outputTokens ?? 0) > 0, failureMode: (record.outputTokens ?? 0) > 0 ? undefined : 'refusal' }),
}];
const broken = [{ name: '', evaluate: 'not a function' }] as unknown as Evaluator[];

test('a call\'s own evaluators score that call (with its prompt version); other calls are not evaluated', async () => {
  const app = await ragApp({}, (express) => {
    express.get('/evaluated', async (_req, res) => {
      await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', promptName: 'short', promptVersion: '7', evaluators: lengthCheck }, async () => completion('ok'));
      await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => completion('not evaluated'));
      res.json({ ok: true });
    });
  });
  try {
    for (let i = 0; i < 3; i++) expect((await fetch(`${app.url}/evaluated`)).status).toBe(200);
    await app.mw.llmscope.evaluations!.idle();
    const s = parseMetrics(await app.mw.llmscope.registry!.metrics());
    expect(find(s, 'llmscope_quality_score_count', { name: 'has_output', evaluator: 'has_output', prompt_name: 'short', prompt_version: '7' })[0]?.value).toBe(3);
    expect(find(s, 'llmscope_quality_score_sum', { name: 'has_output' })[0]?.value).toBe(3);
    expect(find(s, 'llmscope_evaluations_total', { evaluator: 'has_output', outcome: 'ok' })[0]?.value).toBe(3);
  } finally {
    await app.mw.llmscope.shutdown();
    await app.close();
  }
});

test('an invalid evaluator list is reported once and skipped; the call is unaffected', async () => {
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const app = await ragApp({}, (express) => {
    express.get('/broken', async (_req, res) => {
      const answer = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', evaluators: broken }, async () => completion('fine'));
      res.json(answer);
    });
  });
  try {
    for (let i = 0; i < 2; i++) expect((await fetch(`${app.url}/broken`)).status).toBe(200);
    const warnings = warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes('evaluators are skipped'));
    expect(warnings).toEqual(['llmscope: option `traceLLM evaluators[0].name` must be a string of 1 to 64 characters, got an empty string. The call\'s evaluators are skipped.']);
    expect(app.mw.llmscope.evaluations).toBeUndefined();
  } finally {
    warn.mockRestore();
    await app.mw.llmscope.shutdown();
    await app.close();
  }
});
