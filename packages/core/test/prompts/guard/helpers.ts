import type { TrafficControl } from '../../../src/prompts/traffic';
import type { GuardReporter } from '../../../src/prompts/guard/report';

/** A TrafficControl kept in memory: what an experiment exposes, with its history of changes. */
export class MemoryTraffic implements TrafficControl {
  readonly changes: { weights: Record<string, number>; reason: string }[] = [];
  private current: Record<string, number>;

  constructor(readonly prompt: string, weights: Record<string, number>) {
    this.current = { ...weights };
  }

  weights(): Readonly<Record<string, number>> {
    return this.current;
  }

  setWeights(weights: Readonly<Record<string, number>>, reason: string): void {
    this.current = { ...weights };
    this.changes.push({ weights: { ...weights }, reason });
  }

  /** The version of the `i`-th unit: deterministic buckets over 100 by the weights. */
  assign(i: number): string {
    const entries = Object.entries(this.current);
    const sum = entries.reduce((s, [, w]) => s + w, 0);
    let x = ((i * 37) % 100) / 100 * sum;
    for (const [version, w] of entries) {
      if (x < w) return version;
      x -= w;
    }
    return entries[entries.length - 1]![0];
  }
}

/** A clock the test moves. */
export class Clock {
  constructor(public ms = Date.UTC(2026, 10, 30, 10, 0, 0)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A reporter that keeps what it is told. */
export class RecordingReporter implements GuardReporter {
  readonly lines: { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }[] = [];
  readonly messages: { text: string; tags: Record<string, string>; extra: Record<string, unknown> }[] = [];
  log(level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level, fields, message });
  }
  message(text: string, tags: Record<string, string>, extra: Record<string, unknown>): void {
    this.messages.push({ text, tags, extra });
  }
}

/** A seeded generator (mulberry32) so that every run sees the same samples. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal samples (Box–Muller) clipped to 0–1, like a judge's scores. */
export function scores(random: () => number, mean: number, sd: number): () => number {
  return () => {
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.min(1, Math.max(0, mean + sd * z));
  };
}
