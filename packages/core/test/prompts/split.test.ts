import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bucketOf, fnv1a32 } from '../../src/prompts/hash';
import { PromptExperiment } from '../../src/prompts/experiment';

const run = promisify(execFile);
const USERS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function experiment(weights: Record<string, number>, salt = 'rag-answer'): PromptExperiment {
  return new PromptExperiment('rag-answer', weights, salt, new Map(), undefined);
}

function shares(assigned: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of assigned) counts[v] = (counts[v] ?? 0) + 1;
  for (const v of Object.keys(counts)) counts[v] = (counts[v] as number) / assigned.length;
  return counts;
}

describe('experiment assignment', () => {
  test('FNV-1a 32 matches the reference values; buckets are in [0, 1)', () => {
    // Published FNV-1a 32-bit test vectors.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    for (const u of USERS.slice(0, 1000)) {
      const b = bucketOf('salt', u);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(1);
    }
  });

  test.each([
    [{ v3: 90, v4: 10 }],
    [{ v3: 50, v4: 50 }],
    [{ a: 1, b: 2, c: 7 }],
  ])('the split of 10,000 user ids is within 1 point of the weights %j', (weights) => {
    const e = experiment(weights);
    const got = shares(USERS.map((u) => e.assign(u)));
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    for (const [version, w] of Object.entries(weights)) expect(Math.abs((got[version] ?? 0) - w / total)).toBeLessThanOrEqual(0.01);
  });

  test('identical in another process (a child node process computes the same 10,000 assignments)', async () => {
    const weights = { v3: 90, v4: 10 };
    const here = USERS.map((u) => experiment(weights, 'salt-1').assign(u));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(__dirname, 'split-child.ts'), JSON.stringify(weights), 'salt-1', String(USERS.length)], { cwd: join(__dirname, '..', '..', '..', '..') });
    expect(JSON.parse(stdout)).toEqual(here);
  }, 30_000);

  test('the salt reshuffles: another salt assigns other users to the candidate', () => {
    const a = experiment({ v3: 90, v4: 10 }, 'one');
    const b = experiment({ v3: 90, v4: 10 }, 'two');
    const candidatesA = USERS.filter((u) => a.assign(u) === 'v4');
    const both = candidatesA.filter((u) => b.assign(u) === 'v4');
    // Independent draws: about 10% of A's candidates are B's too, not all of them.
    expect(both.length / candidatesA.length).toBeLessThan(0.2);
  });

  test('sticky when weight moves towards the candidate: nobody leaves v4, only v3 users move, as many as the weight moved', () => {
    const e = experiment({ v3: 90, v4: 10 });
    let before = USERS.map((u) => e.assign(u));
    for (const [v3, v4] of [[75, 25], [50, 50], [0, 100]] as const) {
      const previousV4 = before.filter((v) => v === 'v4').length;
      e.setWeights({ v3, v4 }, `rollout to ${v4}%`);
      const after = USERS.map((u) => e.assign(u));
      for (let i = 0; i < USERS.length; i++) if (before[i] === 'v4') expect(after[i]).toBe('v4');
      const moved = after.filter((v, i) => v !== before[i]).length;
      expect(Math.abs(moved - (after.filter((v) => v === 'v4').length - previousV4))).toBe(0);
      expect(Math.abs(after.filter((v) => v === 'v4').length / USERS.length - v4 / 100)).toBeLessThanOrEqual(0.01);
      before = after;
    }
    expect(e.lastChange).toMatchObject({ weights: { v3: 0, v4: 100 }, reason: 'rollout to 100%' });
  });

  test('a rollback (weight back to the baseline) returns exactly the candidate users to it', () => {
    const e = experiment({ v3: 75, v4: 25 });
    const during = USERS.map((u) => e.assign(u));
    e.setWeights({ v3: 100, v4: 0 }, 'rollback: quality dropped');
    const after = USERS.map((u) => e.assign(u));
    expect(after.every((v) => v === 'v3')).toBe(true);
    expect(during.filter((v) => v === 'v4').length).toBeGreaterThan(2000);
  });

  test('a new version goes after the others: {v3: 100} then {v3: 95, v5: 5} moves only users of the top 5%', () => {
    const e = experiment({ v3: 100 });
    const seen: string[] = [];
    const off = e.onChange((c) => seen.push(c.reason));
    e.setWeights({ v3: 95, v5: 5 }, 'candidate v5');
    off();
    e.setWeights({ v3: 90, v5: 10 }, 'not seen');
    expect(seen).toEqual(['candidate v5']);
    expect(e.versions()).toEqual(['v3', 'v5']);
    for (const u of USERS.slice(0, 2000)) expect(e.assign(u)).toBe(e.bucket(u) < 0.9 ? 'v3' : 'v5');
  });

  test('bad weights are refused with what is wrong; the experiment keeps its weights', () => {
    const e = new PromptExperiment('rag-answer', { v3: 90, v4: 10 }, 'rag-answer', new Map(), (v) => v === 'v3' || v === 'v4');
    expect(() => e.setWeights({ v3: -1, v4: 10 }, 'x')).toThrow('llmscope: new weights of the prompt experiment "rag-answer" has weight -1 for "v3"; weights are finite numbers >= 0.');
    expect(() => e.setWeights({ v3: 0, v4: 0 }, 'x')).toThrow('must have weights that add up to more than 0');
    expect(() => e.setWeights({ v3: 50, v9: 50 }, 'x')).toThrow('names version "v9", which the prompt does not have');
    expect(e.weights()).toEqual({ v3: 90, v4: 10 });
  });
});
