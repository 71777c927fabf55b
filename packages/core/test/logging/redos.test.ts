import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redactor, SECRET_PATTERNS, EMAIL_PATTERN } from '../../src/logging/redact';
import { benignText, HOSTILE, MB } from './redos-inputs';
import type { Verdict } from './redos-probe';

/**
 * No ReDoS: every default redaction pattern runs in linear time. For each pattern, hostile
 * inputs built against it (long runs of near-matches that make a backtracking engine scan far and
 * then fail, again and again) go through the default redactor at 1/8 MB and 1 MB. A super-linear
 * pattern takes minutes on these (the patterns before this test: 3.5 s on 40 KB of `sk-` or of
 * `a`, four times the 20 KB figure); a linear one takes about what ordinary text does.
 *
 * Every bound is relative to benign text (a chat transcript, no secret) of the same length,
 * measured in the same rounds: a loaded machine slows both alike. Linearity is read over a factor
 * of 8 in length, not 2: from 1/8 MB to 1 MB, hostile text must not grow more than 3 times as
 * fast as benign text does (linear: about 1 time; quadratic: 8 times). Benign text is the yardstick
 * because the step is not 8x even for a linear scan: past about 512 KB the text leaves the CPU
 * cache and every pattern takes twice as long per MB (measured: benign 11 ms/MB at 1/8 MB,
 * 19 ms/MB at 1 MB, hostile inputs alike). A doubling (linear 2x against quadratic 4x) left no
 * room for noise: in full CI runs (other Jest workers, Chromium, Prometheus on 2 cores, a large
 * heap) single sizes came out 3 to 12 times slower than alone (one 1 MB match of `?api_key=` +
 * "a"...: 0.5 / 1 / 2 MB = 8.6 / 79 / 284 ms, 3 / 6.4 / 12.7 ms alone) and the ratio check failed.
 *
 * A time is the lesser of wall-clock and process CPU time (see `timeOnce`). Each of the four
 * texts keeps its best time over rounds that alternate them, with a pause between rounds (garbage collection and other processes get to finish); rounds stop as soon as
 * the bounds hold. A best time only goes down with more rounds and is never below the real time,
 * so a quadratic pattern cannot pass by retrying: its 1 MB best is at least 64 times its real
 * 1/8 MB time.
 *
 * The timings run in a child process (redos-probe.ts): see there why.
 */

const run = promisify(execFile);
/** `tsx` from the root's node_modules: the probe imports the TypeScript sources, as Jest does. */
const PROBE = ['--import', 'tsx', join(__dirname, 'redos-probe.ts')];

describe('redaction patterns are linear-time (no ReDoS)', () => {
  const redactor = new Redactor();
  const figures: string[] = [];

  afterAll(() => {
    process.stdout.write(`redaction timings (best of 3 or more rounds, default redactor, own process):\n${figures.join('\n')}\n`);
  });

  test('every default pattern is covered by a hostile input below', () => {
    // 12 secret patterns (two for GitHub) and the e-mail one: a new pattern needs its hostile inputs in HOSTILE.
    expect(SECRET_PATTERNS.length).toBe(12);
    expect(EMAIL_PATTERN.flags).toContain('g');
  });

  test.each(Object.keys(HOSTILE))('%s: 1 MB of near-matches within 20x of benign text, growing from 1/8 MB at most 3x as fast as benign text', async (name) => {
    const { stdout } = await run(process.execPath, [...PROBE, name], { cwd: join(__dirname, '..', '..', '..', '..'), maxBuffer: 1 << 20, timeout: 280_000 });
    const result = JSON.parse(stdout) as { verdicts: Verdict[]; figures: string[] };
    figures.push(...result.figures);
    expect(result.verdicts).toHaveLength(HOSTILE[name]?.length ?? -1);
    for (const verdict of result.verdicts) expect(verdict).toEqual({ ...verdict, withinBenign: true, linear: true, gaveUp: false });
  }, 300_000);

  test('the patterns still find what they are for in a 1 MB text', () => {
    const secrets = 'sk-proj-Abc123Def456Ghi789Jkl012 jane.doe@example.com https://bob:hunter22@db.example.com/x';
    const text = `${benignText(MB / 2)} ${secrets} ${benignText(MB / 2)}`;
    const out = redactor.string(text);
    expect(out).not.toContain('Abc123Def456');
    expect(out).not.toContain('jane.doe');
    expect(out).not.toContain('hunter22');
    expect(out).toContain('https://bob:[REDACTED]@db.example.com/x');
  });
});
