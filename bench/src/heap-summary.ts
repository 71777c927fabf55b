/**
 * `npx tsx src/heap-summary.ts <a.heapprofile> <requests> [<b.heapprofile> <requests>] [--top 30] [--stacks]`:
 * what a sampling heap profile (`micro-app.ts --heap-profile`) says was allocated, in bytes a
 * request, by allocating function (`file:line name`); with two profiles, by how much more `b`
 * allocated than `a` (e.g. bare against llmscope's row), largest first. `--stacks` groups by
 * the allocating function and the two frames above it instead.
 *
 * `requests`: how many requests the profile covers (micro-app's drive: 2 × `--requests` warm-up
 * + 5 × `--requests` measured = 7 × `--requests`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const top = Number(flag('--top') ?? 30);
const stacks = args.includes('--stacks');
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1] === '--top'));

function frameName(f: CallFrame): string {
  const file = f.url === '' ? '(native)' : basename(f.url.replace(/^file:\/\//, ''));
  return `${file}:${f.lineNumber + 1} ${f.functionName === '' ? '(anonymous)' : f.functionName}`;
}

/** Bytes a request by key (allocating function, or its stack's tail with `--stacks`). */
function bytesByKey(file: string, requests: number): Map<string, number> {
  const root = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head;
  const out = new Map<string, number>();
  const walk = (node: HeapNode, path: string[]): void => {
    const here = [...path, frameName(node.callFrame)];
    if (node.selfSize > 0) {
      const key = stacks ? here.slice(-3).join(' ← ').split(' ← ').reverse().join(' ← ') : (here[here.length - 1] as string);
      out.set(key, (out.get(key) ?? 0) + node.selfSize / requests);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(root, []);
  return out;
}

const [fileA, requestsA, fileB, requestsB] = positional;
if (fileA === undefined || requestsA === undefined) throw new Error('usage: heap-summary.ts <a.heapprofile> <requests> [<b.heapprofile> <requests>]');
const a = bytesByKey(fileA, Number(requestsA));
const total = (m: Map<string, number>): number => [...m.values()].reduce((s, v) => s + v, 0);
if (fileB === undefined || requestsB === undefined) {
  process.stdout.write(`${basename(fileA)}: ${total(a).toFixed(0)} bytes a request\n`);
  for (const [key, bytes] of [...a].sort((x, y) => y[1] - x[1]).slice(0, top)) process.stdout.write(`${bytes.toFixed(0).padStart(7)}  ${key}\n`);
} else {
  const b = bytesByKey(fileB, Number(requestsB));
  process.stdout.write(`${basename(fileA)} ${total(a).toFixed(0)} → ${basename(fileB)} ${total(b).toFixed(0)} bytes a request (${(total(b) - total(a)).toFixed(0)})\n`);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const diff = [...keys].map((k) => [k, (b.get(k) ?? 0) - (a.get(k) ?? 0)] as const).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
  for (const [key, bytes] of diff.slice(0, top)) process.stdout.write(`${(bytes >= 0 ? '+' : '') + bytes.toFixed(0).padStart(6)}  ${key}\n`);
}
