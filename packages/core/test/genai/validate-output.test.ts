import { z } from 'zod';
import { Llmscope, validateOutput, type StandardSchemaV1 } from '../../src';
import { memoryLogger, memoryExporter } from '@llmscope/testkit';

const spans = memoryExporter();
afterEach(() => spans.reset());

const Answer = z.object({ answer: z.string(), confidence: z.number().min(0).max(1) });

describe('validateOutput', () => {
  test('zod: returns the parsed value, or the issues and the raw output', async () => {
    const ok = await validateOutput(Answer, { answer: 'yes', confidence: 0.9 });
    expect(ok).toEqual({ success: true, value: { answer: 'yes', confidence: 0.9 } });
    if (ok.success) expect(ok.value.confidence).toBe(0.9);

    const bad = await validateOutput(Answer, '{"answer": 3, "confidence": 2}', { json: true });
    expect(bad.success).toBe(false);
    if (!bad.success) {
      expect(bad.issues.map((i) => i.path).sort()).toEqual(['answer', 'confidence']);
      expect(bad.raw).toBe('{"answer": 3, "confidence": 2}');
    }
    const notJson = await validateOutput(Answer, 'Sure! Here is the JSON: {', { json: true });
    expect(notJson.success).toBe(false);
    if (!notJson.success) expect(notJson.issues[0]?.message).toMatch(/^not valid JSON/);
  });

  test('any Standard Schema, also an async one', async () => {
    const even: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1, vendor: 'hand-made',
        validate: async (value) => (typeof value === 'number' && value % 2 === 0 ? { value } : { issues: [{ message: 'not even', path: [{ key: 'n' }] }] }),
      },
    };
    await expect(validateOutput(even, 4)).resolves.toEqual({ success: true, value: 4 });
    await expect(validateOutput(even, 3)).resolves.toEqual({ success: false, issues: [{ message: 'not even', path: 'n' }], raw: 3 });
    await expect(validateOutput({} as never, 1)).rejects.toThrow(/needs a Standard Schema/);
  });

  test('a failure is recorded on the current span and logged as a warning with the issues', async () => {
    const { logger, lines } = memoryLogger();
    const scope = new Llmscope({ metrics: false, logging: { logger, captureContent: true, maxContentLength: 20 } });
    await scope.step('generate', () => validateOutput(Answer, { answer: 'x'.repeat(100), confidence: 5 }, { name: 'answer' }));
    const [span] = spans.getFinishedSpans();
    expect(span?.attributes['llmscope.output_validation.outcome']).toBe('fail');
    expect(span?.events[0]?.name).toBe('llmscope.output_validation.failed');
    expect(span?.events[0]?.attributes?.['llmscope.output_validation.issues']).toEqual([expect.stringMatching(/^confidence: /)]);
    const line = lines.find((l) => l.event === 'output_validation_failed');
    expect(line).toMatchObject({ level: 40, name: 'answer', trace_id: span?.spanContext().traceId });
    expect(String(line?.raw_output)).toMatch(/^\{"answer":"xxxxxxxxx…\[\d+ more\]$/);
    await scope.shutdown();
  });
});
