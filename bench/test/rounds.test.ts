/**
 * The bench report's disturbed readings (src/rounds.ts), on the CPU µs a request of the Fastify
 * block of the 2026-12-02 19:05-19:22 run (its log), where rounds 2 and 3 were read as disturbed
 * by hand.
 */
import { disturbedRounds } from '../src/rounds';
import { renderMarkdown, type Results } from '../src/report';

const FASTIFY: Record<string, number[]> = {
  'fastify bare': [24, 25.5, 23.3],
  'fastify + llmscope metrics': [27, 26, 28.2],
  'fastify + llmscope defaults, no exporter': [30, 26.7, 46],
  'fastify + empty onRequest hook (control)': [23.6, 30.3, 31.7],
};
const blocks = new Map([['fastify bare', Object.keys(FASTIFY)]]);

test('flags each reading more than 15% above its own fastest round, by round', () => {
  const flagged = disturbedRounds(blocks, new Map(Object.entries(FASTIFY)));
  expect(flagged.map((d) => ({ round: d.round, rows: d.rows.map((r) => `${r.name} +${Math.round(r.overFastest * 100)}%`) }))).toEqual([
    { round: 2, rows: ['fastify + empty onRequest hook (control) +28%'] },
    { round: 3, rows: ['fastify + llmscope defaults, no exporter +72%', 'fastify + empty onRequest hook (control) +34%'] },
  ]);
});

test('a configuration read once (a quick run) is never flagged', () => {
  expect(disturbedRounds(blocks, new Map([['fastify bare', [24]], ['fastify + llmscope metrics', [90]]]))).toEqual([]);
});

test("the report's Rounds section lists each block's bare readings and the flagged ones", () => {
  const rows = Object.entries(FASTIFY).map(([name, cpu], i) => ({
    name, framework: 'fastify', rps: 1, p50: 1, p99: 1, cpuMicros: cpu[0] as number, errors: 0, cpuMicrosByRound: cpu,
    ...(i === 0 ? {} : { cpuRatio: 0.9 }),
  }));
  const results: Results = {
    date: 'd', node: 'v20', cpus: 2, cpuModel: 'm', quick: false, rounds: 3, durationSeconds: 8, connections: 10, rows, otlpExportsReceived: 0,
    disturbed: disturbedRounds(blocks, new Map(Object.entries(FASTIFY))),
  };
  expect(renderMarkdown(results)).toContain('\n- fastify bare (24 / 25.5 / 23.3 µs a request by round): round 2: fastify + empty onRequest hook (control) +28%; '
    + 'round 3: fastify + llmscope defaults, no exporter +72%, fastify + empty onRequest hook (control) +34%\n');
  expect(renderMarkdown({ ...results, rounds: 1 })).not.toContain('## Rounds');
});
