import { Redactor, SECRET_PATTERNS, EMAIL_PATTERN } from '../../src/logging/redact';

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
 */

const MB = 1 << 20;
/** The small size of the linearity check. */
const SMALL = MB / 8;
/** From 1/8 MB to 1 MB, hostile time may grow this many times as much as benign time does. */
const MAX_GROWTH_FACTOR = 3;
/** Hostile time against the benign text of the same length. */
const MAX_HOSTILE_FACTOR = 20;
/** Whatever the machine, 1 MB never takes longer than this. */
const MAX_MS_PER_MB = 3000;
/** Rounds of the four texts at least (the best of 3), and at most while the bounds do not hold. */
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 15;

function fill(unit: string, length: number, prefix = ''): string {
  return (prefix + unit.repeat(Math.ceil(length / unit.length))).slice(0, length);
}

/** Hostile inputs, by the pattern they target: repeated units, some after a prefix that opens a match. */
const HOSTILE: Record<string, { unit: string; prefix?: string }[]> = {
  'sk-': [{ unit: 'sk-' }, { unit: 'sk-a-' }, { unit: 'sk-aaaaaaaaaaaaaaa-' }, { unit: 'sk-aaaaaaaaaaaaaaa ' }, { unit: 'a', prefix: 'sk-' }, { unit: 'a-', prefix: 'sk-' }],
  'sk-lf-': [{ unit: 'sk-lf-' }, { unit: '-', prefix: 'pk-lf-' }],
  AKIA: [{ unit: 'AKIA' }, { unit: 'AKIAAAAAAAAAAAAAAAAA_' }],
  'gh*_': [{ unit: 'ghp_' }, { unit: 'a', prefix: 'ghp_' }, { unit: 'a_', prefix: 'ghp_' }, { unit: 'github_pat_' }],
  'xox*-': [{ unit: 'xoxb-' }, { unit: '-', prefix: 'xoxb-' }],
  AIza: [{ unit: 'AIza' }, { unit: 'AIza-' }],
  JWT: [{ unit: 'eyJ' }, { unit: 'eyJ-' }, { unit: 'eyJaaaaaaaa.' }, { unit: 'eyJaaaaaaaa.eyJaaaaaaaa.x ' }, { unit: 'a', prefix: 'eyJ' }],
  'Bearer/Basic': [{ unit: 'Bearer ' }, { unit: ' \t', prefix: 'Bearer' }, { unit: 'basic basic ' }],
  'PEM private key': [{ unit: '-----BEGIN PRIVATE KEY-----' }, { unit: '-a', prefix: '-----BEGIN PRIVATE KEY-----' }, { unit: 'PRIVATE ', prefix: '-----BEGIN ' }, { unit: '-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END' }],
  'URL password': [{ unit: 'https://u:' }, { unit: 'a://a:a' }, { unit: 'https://' }, { unit: 'a', prefix: 'https://user:' }],
  'query credential': [{ unit: '?token=&key' }, { unit: 'a', prefix: '?api_key=' }],
  'e-mail': [{ unit: 'a' }, { unit: 'aaaa@' }, { unit: 'a.', prefix: 'x@' }, { unit: 'a@a.a.' }, { unit: '@' }, { unit: 'a-', prefix: 'a@' }],
  'nested quotes': [{ unit: '"\'"\\"' }, { unit: '{"a":"' }],
};

/**
 * One timing of `redact(text)`, in ms: the lesser of wall-clock time and this process's CPU time.
 * Both are at least the main thread's own work, so a slow pattern cannot hide: wall time also
 * counts the other processes of a loaded machine (on 2 cores a 1 MB scan is preempted, a 1/8 MB
 * one mostly not), CPU time also counts this process's other threads (garbage collection, the
 * compiler). Checks that the engine did not give up (the redactor would then drop the whole text).
 */
function timeOnce(redactor: Redactor, text: string): number {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const out = redactor.string(text);
  const wallMs = performance.now() - t;
  const { user, system } = process.cpuUsage(cpu);
  expect(out.startsWith('[REDACTED: could not be checked]')).toBe(false);
  return Math.min(wallMs, (user + system) / 1000);
}

/** Best of `runs` timings of `redact(text)` (the best is the least disturbed by the machine). */
function best(redactor: Redactor, text: string, runs = 3): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) min = Math.min(min, timeOnce(redactor, text));
  return min;
}

/** A benign 1 MB text: a chat transcript with prose, code, JSON, numbers and URLs, no secret. */
function benignText(length: number): string {
  const unit = [
    'The quick brown fox jumps over the lazy dog, said Mary to John at 10:30 on 2024-05-01. ',
    '{"role":"user","content":"How do I reset my password? See https://example.com/help?page=2#reset"} ',
    'function add(a, b) { return a + b; } // 42 items, 3.14 ratio, x-y-z and a_b_c tokens. ',
    'Skiing, desk-lamps, sk-8 skates and Basic ideas: nothing here is a secret. ',
  ].join('');
  return fill(unit, length);
}

describe('redaction patterns are linear-time (no ReDoS)', () => {
  const redactor = new Redactor();
  const figures: string[] = [];

  beforeAll(() => {
    // Warm the engine up (V8 interprets a pattern before compiling it).
    redactor.string(benignText(MB));
    const benignMs = best(redactor, benignText(MB), 5);
    figures.push(`benign 1 MB: ${benignMs.toFixed(1)} ms, 1/8 MB: ${best(redactor, benignText(SMALL), 5).toFixed(2)} ms`);
  });

  afterAll(() => {
    process.stdout.write(`redaction timings (best of 3 or more rounds, default redactor):\n${figures.join('\n')}\n`);
  });

  test('every default pattern is covered by a hostile input below', () => {
    // 12 secret patterns (two for GitHub) and the e-mail one: a new pattern needs its hostile inputs in HOSTILE.
    expect(SECRET_PATTERNS.length).toBe(12);
    expect(EMAIL_PATTERN.flags).toContain('g');
  });

  test.each(Object.entries(HOSTILE))('%s: 1 MB of near-matches within 20x of benign text, growing from 1/8 MB at most 3x as fast as benign text', async (_name, cases) => {
    const benignSmall = benignText(SMALL);
    const benignBig = benignText(MB);
    for (const { unit, prefix } of cases) {
      const label = `${JSON.stringify((prefix ?? '') + unit).slice(0, 40)}`;
      const small = fill(unit, SMALL, prefix);
      const big = fill(unit, MB, prefix);
      const ms = { small: Infinity, big: Infinity, benignSmall: Infinity, benignBig: Infinity };
      const withinBenign = () => ms.big <= Math.min(Math.max(MAX_HOSTILE_FACTOR * ms.benignBig, 20), MAX_MS_PER_MB);
      // The benign 1/8 MB time on top: the fixed costs of a fast scan (under a millisecond at 1/8 MB).
      const linear = () => ms.big <= MAX_GROWTH_FACTOR * ms.small * (ms.benignBig / ms.benignSmall) + ms.benignSmall;
      let rounds = 0;
      while (rounds < MAX_ROUNDS) {
        for (const [key, text] of [['small', small], ['big', big], ['benignSmall', benignSmall], ['benignBig', benignBig]] as const) {
          // Back to the event loop between timings: V8 finishes a garbage collection in tasks
          // run from there, or else inside the next timing (a 1/8 MB text then took 10x its time).
          await new Promise((r) => setImmediate(r));
          ms[key] = Math.min(ms[key], timeOnce(redactor, text));
        }
        rounds++;
        if (rounds < MIN_ROUNDS) continue;
        if (withinBenign() && linear()) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const growth = ms.big / ms.small / (ms.benignBig / ms.benignSmall);
      figures.push(`${label.padEnd(44)} 1/8 MB ${ms.small.toFixed(2).padStart(6)} ms   1 MB ${ms.big.toFixed(1).padStart(6)} ms (${(ms.big / ms.benignBig).toFixed(1)}x benign; growth ${growth.toFixed(2)}x benign's ${ms.benignSmall.toFixed(2)} → ${ms.benignBig.toFixed(1)} ms; ${rounds} rounds)`);
      const verdict = { pattern: label, withinBenign: withinBenign(), linear: linear(), ms };
      expect(verdict).toEqual({ ...verdict, withinBenign: true, linear: true });
    }
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
