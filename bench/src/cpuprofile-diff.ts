/**
 * `npx tsx src/cpuprofile-diff.ts <before.cpuprofile> <before CPU µs/req> <after.cpuprofile> <after CPU µs/req>`:
 * the functions whose self time per request grew most from one profile to the other (set TOP=n
 * for more rows). Each profile's samples are scaled so that they add up to the CPU µs per request
 * `src/profile.ts` printed for it, so that two profiles of the same configuration (before and
 * after a change, taken alternately) compare per request. Columns: change, before, after, function.
 */
import { readFileSync } from 'node:fs';
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };
function selfByFn(file: string): Map<string, number> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const t = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const f = byId.get(p.samples[i]!)!.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/packages\//, '')}:${f.lineNumber}`;
    t.set(key, (t.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  return t;
}
const [a, ra, b, rb] = process.argv.slice(2);
if (a === undefined || ra === undefined || b === undefined || rb === undefined) throw new Error("usage: cpuprofile-diff.ts <before.cpuprofile> <before µs/req> <after.cpuprofile> <after µs/req>");
const A = selfByFn(a), B = selfByFn(b);
let sa = 0, sb = 0; for (const v of A.values()) sa += v; for (const v of B.values()) sb += v;
const na = sa / Number(ra), nb = sb / Number(rb);
const rows = [...new Set([...A.keys(), ...B.keys()])].map((k) => ({ k, a: (A.get(k) ?? 0) / na, b: (B.get(k) ?? 0) / nb })).map((r) => ({ ...r, d: r.b - r.a }));
rows.sort((x, y) => y.d - x.d);
for (const r of rows.slice(0, Number(process.env.TOP ?? 30))) console.log(r.d.toFixed(2).padStart(6), r.a.toFixed(2).padStart(6), r.b.toFixed(2).padStart(6), r.k);
