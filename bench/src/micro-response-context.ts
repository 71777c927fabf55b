/**
 * `taskset -c 1 npx tsx src/micro-response-context.ts` (and under `npx -y -p node@22 node --import
 * tsx`, `node@24`): where the Express adapter can keep a request's context so that it finds it
 * from the response (docs/performance.md, "The response's context"). ns a request/response pair
 * made with `new IncomingMessage` / `new ServerResponse`, fresh or with the two
 * `Object.setPrototypeOf` calls Express makes on every request; then with a `WeakMap` entry set,
 * read and deleted, or with a symbol property set, read and reset. Also the innermost mount
 * template read on the empty mount stack, as `stack[stack.length - 1]` against a length check.
 * Medians of five rounds after a warm-up; the loops' absolute figures are not a request's, only
 * the differences between rows matter.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { median } from './stats';

const PAIRS = 200_000;
const contexts = new WeakMap<object, object>();
const CONTEXT = Symbol('context');
const ctx = { route: '/users/:id' };
const appRequest = Object.create(IncomingMessage.prototype) as object;
const appResponse = Object.create(ServerResponse.prototype) as object;

type Tracked = ServerResponse & { [CONTEXT]?: object | undefined };

function pair(prototypes: boolean): Tracked {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  if (prototypes) {
    Object.setPrototypeOf(req, appRequest);
    Object.setPrototypeOf(res, appResponse);
  }
  return res;
}

function made(prototypes: boolean): number {
  let n = 0;
  for (let i = 0; i < PAIRS; i++) n += pair(prototypes).statusCode;
  return n;
}

function withWeakMap(prototypes: boolean): number {
  let n = 0;
  for (let i = 0; i < PAIRS; i++) {
    const res = pair(prototypes);
    contexts.set(res, ctx);
    if (contexts.get(res) !== undefined) n++;
    contexts.delete(res);
  }
  return n;
}

function withProperty(prototypes: boolean): number {
  let n = 0;
  for (let i = 0; i < PAIRS; i++) {
    const res = pair(prototypes);
    res[CONTEXT] = ctx;
    if (res[CONTEXT] !== undefined) n++;
    res[CONTEXT] = undefined;
  }
  return n;
}

const EMPTY: readonly string[] = Object.freeze([]);
const STACKS = [EMPTY, EMPTY, EMPTY];
const READS = 5_000_000;

function lastByIndex(): number {
  let n = 0;
  for (let i = 0; i < READS; i++) {
    const stack = STACKS[i % 3] as readonly string[];
    if (stack[stack.length - 1] === undefined) n++;
  }
  return n;
}

function lastByLength(): number {
  let n = 0;
  for (let i = 0; i < READS; i++) {
    const stack = STACKS[i % 3] as readonly string[];
    if ((stack.length === 0 ? undefined : stack[stack.length - 1]) === undefined) n++;
  }
  return n;
}

/** ns per iteration of `loop`, CPU time. */
function ns(loop: () => number, iterations: number): number {
  const before = process.cpuUsage();
  loop();
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / iterations;
}

const rows: [string, () => number, number][] = [
  ['pair made', () => made(false), PAIRS],
  ['  + WeakMap set, get, delete', () => withWeakMap(false), PAIRS],
  ['  + symbol property set, read, reset', () => withProperty(false), PAIRS],
  ['pair made, prototypes set as Express does', () => made(true), PAIRS],
  ['  + WeakMap set, get, delete', () => withWeakMap(true), PAIRS],
  ['  + symbol property set, read, reset', () => withProperty(true), PAIRS],
  ['empty stack: stack[stack.length - 1]', lastByIndex, READS],
  ['empty stack: length check first', lastByLength, READS],
];
const figures = rows.map((): number[] => []);
for (let round = 0; round < 6; round++) {
  rows.forEach(([, loop, iterations], i) => {
    const value = ns(loop, iterations);
    if (round > 0) figures[i]?.push(value); // round 0: warm-up
  });
}
process.stdout.write(`Node ${process.versions.node}, ns an iteration (median of 5 rounds)\n`);
rows.forEach(([name], i) => process.stdout.write(`${name.padEnd(44)} ${median(figures[i] ?? []).toFixed(1)}\n`));
