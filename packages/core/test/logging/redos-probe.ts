/**
 * The timings of redos.test.ts, run in a process of its own (`node --import tsx redos-probe.ts
 * <pattern>`): in a Jest worker of the full suite the heap is large and other suites allocate beside
 * it, and one 1 MB match of `?api_key=` + "a"... took 8.6 / 79 / 284 ms at 0.5 / 1 / 2 MB (3 / 6.4 /
 * 12.7 ms alone): a linear pattern failed the growth check on the garbage collection of a heap it
 * does not own, in three CI runs, whatever the rounds. Here the heap is the redactor's and the
 * texts' only. Prints one JSON line: a verdict per hostile input of the pattern, and the figures.
 */
import { Redactor } from '../../src/logging/redact';
import { benignText, fill, HOSTILE, MB, SMALL } from './redos-inputs';

/** From 1/8 MB to 1 MB, hostile time may grow this many times as much as benign time does. */
const MAX_GROWTH_FACTOR = 3;
/** Hostile time against the benign text of the same length. */
const MAX_HOSTILE_FACTOR = 20;
/** Whatever the machine, 1 MB never takes longer than this. */
const MAX_MS_PER_MB = 3000;
/** Rounds of the four texts at least (the best of 3), and at most while the bounds do not hold. */
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 15;

/**
 * One timing of `redact(text)`, in ms: the lesser of wall-clock time and this process's CPU time.
 * Both are at least the main thread's own work, so a slow pattern cannot hide: wall time also
 * counts the other processes of a loaded machine (on 2 cores a 1 MB scan is preempted, a 1/8 MB
 * one mostly not), CPU time also counts this process's other threads (garbage collection, the
 * compiler). `gaveUp`: the engine gave up and the redactor dropped the whole text.
 */
function timeOnce(redactor: Redactor, text: string): { ms: number; gaveUp: boolean } {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const out = redactor.string(text);
  const wallMs = performance.now() - t;
  const { user, system } = process.cpuUsage(cpu);
  return { ms: Math.min(wallMs, (user + system) / 1000), gaveUp: out.startsWith('[REDACTED: could not be checked]') };
}

/** The verdict of one hostile input, as the test asserts it. */
export interface Verdict {
  pattern: string;
  withinBenign: boolean;
  linear: boolean;
  gaveUp: boolean;
  ms: { small: number; big: number; benignSmall: number; benignBig: number };
}

async function measure(name: string): Promise<{ verdicts: Verdict[]; figures: string[] }> {
  const cases = HOSTILE[name];
  if (cases === undefined) throw new Error(`no hostile inputs for ${name}`);
  const redactor = new Redactor();
  const benignSmall = benignText(SMALL);
  const benignBig = benignText(MB);
  // Warm the engine up (V8 interprets a pattern before compiling it).
  redactor.string(benignBig);
  const verdicts: Verdict[] = [];
  const figures: string[] = [];
  for (const { unit, prefix } of cases) {
    const label = `${JSON.stringify((prefix ?? '') + unit).slice(0, 40)}`;
    const small = fill(unit, SMALL, prefix);
    const big = fill(unit, MB, prefix);
    const ms = { small: Infinity, big: Infinity, benignSmall: Infinity, benignBig: Infinity };
    let gaveUp = false;
    const withinBenign = (): boolean => ms.big <= Math.min(Math.max(MAX_HOSTILE_FACTOR * ms.benignBig, 20), MAX_MS_PER_MB);
    // The benign 1/8 MB time on top: the fixed costs of a fast scan (under a millisecond at 1/8 MB).
    const linear = (): boolean => ms.big <= MAX_GROWTH_FACTOR * ms.small * (ms.benignBig / ms.benignSmall) + ms.benignSmall;
    let rounds = 0;
    while (rounds < MAX_ROUNDS) {
      for (const [key, text] of [['small', small], ['big', big], ['benignSmall', benignSmall], ['benignBig', benignBig]] as const) {
        // Back to the event loop between timings: V8 finishes a garbage collection in tasks
        // run from there, or else inside the next timing (a 1/8 MB text then took 10x its time).
        await new Promise((r) => setImmediate(r));
        const t = timeOnce(redactor, text);
        gaveUp ||= t.gaveUp;
        ms[key] = Math.min(ms[key], t.ms);
      }
      rounds++;
      if (rounds < MIN_ROUNDS) continue;
      if (withinBenign() && linear()) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const growth = ms.big / ms.small / (ms.benignBig / ms.benignSmall);
    figures.push(`${label.padEnd(44)} 1/8 MB ${ms.small.toFixed(2).padStart(6)} ms   1 MB ${ms.big.toFixed(1).padStart(6)} ms (${(ms.big / ms.benignBig).toFixed(1)}x benign; growth ${growth.toFixed(2)}x benign's ${ms.benignSmall.toFixed(2)} → ${ms.benignBig.toFixed(1)} ms; ${rounds} rounds)`);
    verdicts.push({ pattern: label, withinBenign: withinBenign(), linear: linear(), gaveUp, ms });
  }
  return { verdicts, figures };
}

measure(process.argv[2] ?? '').then(
  (result) => process.stdout.write(JSON.stringify(result) + '\n'),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  },
);
