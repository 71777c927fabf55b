/**
 * `npx tsx src/micro-prototype-change.ts` (and under `npx -y -p node@22 node --import tsx`,
 * `node@24`): what makes Express's per-request prototype change expensive on V8 before 13, and
 * what undoes it (docs/performance.md, "Express on Node 20 and 22"; packages/express/src/prototype-change.ts).
 *
 * A loop makes 1,000,000 small objects shaped like a request (four fields, one an object), keeps
 * the last one only, and per row:
 * - `no change`: adds five properties;
 * - `prototype changed`: `Object.setPrototypeOf` first, as Express does, no property added after;
 * - `changed, then 5 added`: the change, then the five properties (Express, the router, the app);
 * - `changed, own property re-set, then 5 added`: between the two, one of the object's own
 *   properties deleted and set again (what the middleware does with `req.res` / `res.req`);
 * - `changed, symbol added and deleted, then 5 added`: the same with a property of one's own
 *   added and deleted instead (what a library that may not touch the app's properties could do);
 * - `two symbols added and deleted, changed, then 5 added`: dictionary mode before the change;
 * - `symbol added, changed, symbol deleted, then 5 added`: what the middleware does since
 *   (in the app's `handle`, before Express's own change, which is then a no-op).
 * Each row runs in a fresh process (V8's map caches are per process). Prints CPU ms for the loop,
 * whether the object had fast properties at the end, and whether two such objects share a map.
 */
import { spawnSync } from 'node:child_process';

const ROWS = ['no change', 'prototype changed', 'changed, then 5 added', 'changed, own property re-set, then 5 added', 'changed, symbol added and deleted, then 5 added', 'two symbols added and deleted, changed, then 5 added', 'symbol added, changed, symbol deleted, then 5 added'] as const;
type Row = (typeof ROWS)[number];

// Plain JavaScript, run with --allow-natives-syntax for %HasFastProperties and %HaveSameMap.
const LOOP = `
const row = process.env.ROW;
class Msg { constructor(i) { this.a = i; this.b = 'x' + i; this.c = { n: i }; this.d = [i, i]; } }
const proto = Object.create(Msg.prototype);
const K = Symbol('k');
const K2 = Symbol('k2');
function make(i) {
  const m = new Msg(i);
  if (row === 'two symbols added and deleted, changed, then 5 added') { m[K] = undefined; m[K2] = undefined; delete m[K]; delete m[K2]; }
  if (row === 'symbol added, changed, symbol deleted, then 5 added') m[K] = undefined;
  if (row !== 'no change') Object.setPrototypeOf(m, proto);
  if (row === 'symbol added, changed, symbol deleted, then 5 added') delete m[K];
  if (row === 'changed, own property re-set, then 5 added') { const v = m.b; delete m.b; m.b = v; }
  if (row === 'changed, symbol added and deleted, then 5 added') { m[K] = 0; delete m[K]; }
  if (row !== 'prototype changed') { m.e = { i }; m.f = 'y'; m.g = 1; m.h = 2; m.k = 3; }
  return m;
}
let last;
const t0 = process.cpuUsage();
for (let i = 0; i < 1e6; i++) last = make(i);
const t = process.cpuUsage(t0);
const other = make(0);
process.stdout.write(JSON.stringify({ ms: Math.round((t.user + t.system) / 1000), fast: %HasFastProperties(last), sameMap: %HaveSameMap(last, other) }));
`;

process.stdout.write(`Node ${process.version} (V8 ${process.versions.v8})\n\n| row | CPU ms | fast properties | two objects share a map |\n|---|---:|---|---|\n`);
for (const row of ROWS) {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', LOOP], { env: { ...process.env, ROW: row satisfies Row }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${row}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { ms: number; fast: boolean; sameMap: boolean };
  process.stdout.write(`| ${row} | ${out.ms} | ${out.fast} | ${out.sameMap} |\n`);
}
