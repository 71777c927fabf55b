/**
 * `npx tsx src/express-split.ts [--rounds 6] [--only e4]`: where llmscope's Express cost goes, piece by piece
 * (docs/performance.md, "llmscope's Express path: the router entry").
 *
 * Every server is the bench's one-route Express 5 app (the `e4-` rows: Express 4.22) on a server
 * made with the app's prototypes (docs/express.md, "On Node 20 and 22"), so that Express's own
 * garbage-collection regime does not swamp a few µs. Each round starts a fresh process per variant (alone on core 1, busy client on
 * core 0), warms it up 3 s and measures 2 s; rounds alternate the variants' order. A process that
 * stays up for many rounds keeps whatever regime its start gave it, so one long-lived process per
 * variant compares processes, not variants. Prints CPU µs a request: median, lowest, all rounds,
 * and the median over rounds of the difference to bare (and to the variant it is paired with)
 * within each round, steadier than a difference of medians on a machine whose speed drifts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runBusyClient } from './client';
import { cliArg } from './each-server';
import { cpuOf, pinSelf } from './process';

const ROUNDS = Number(cliArg('--rounds') ?? 6);
/** `--only e4`: the variants whose id contains the text, and their bare. */
const ONLY = cliArg('--only');
const WARM_S = 3;
const MEASURE_S = 2;

const SERVER = `
const http = require('node:http');
const { AsyncLocalStorage } = require('node:async_hooks');
const E4 = process.env.VARIANT.startsWith('e4-');
const app = require(E4 ? 'express4' : 'express')();
const V = process.env.VARIANT.replace(/^e4-/, '');
const als = new AsyncLocalStorage();
if (V === 'empty-layer') app.use((req, res, next) => next());
if (V === 'als-layer') app.use((req, res, next) => als.run({}, next));
if (V === 'als-entry') {
  // What llmscope's middleware does when it is first: its layer stops matching, the router's entry runs the rest.
  app.use((req, res, next) => next());
  const router = app.router;
  const handle = router.handle;
  router.stack[0].match = () => false;
  router.handle = function (req, res, done) { als.run({}, () => handle.call(router, req, res, done)); };
}
if (V === 'als-close-map-entry' || V === 'core-entry') {
  // The leads of docs/performance.md: what the router entry costs with the request's close
  // listener and lost-context map entry, and with core's startRequest and run instead of a bare store.
  app.use((req, res, next) => next());
  const router = app.router;
  const handle = router.handle;
  router.stack[0].match = () => false;
  const map = new WeakMap();
  if (V === 'als-close-map-entry') router.handle = function (req, res, done) { const s = {}; map.set(req, s); res.on('close', () => { map.delete(req); s.done = true; }); als.run(s, () => handle.call(router, req, res, done)); };
  else {
    const { Llmscope } = require('@llmscope/core');
    const scope = new Llmscope({ tracing: false });
    router.handle = function (req, res, done) { const ctx = scope.startRequest(req.method, req.url, req.headers, req); scope.run(ctx, () => handle.call(router, req, res, done)); };
  }
}
if (V.startsWith('llmscope')) {
  const { llmscope } = require('@llmscope/express');
  const options = V.endsWith('defaults') ? {} : { tracing: false };
  const middleware = llmscope(options);
  // Called from a function of the app's, the middleware is not the first layer's own handler: it stays a layer (as before 408064e).
  if (V.startsWith('llmscope-layer')) app.use((req, res, next) => middleware(req, res, next));
  else app.use(middleware);
}
app.get('/users/:id', (req, res) => { res.json({ id: req.params.id, name: 'Ada' }); });
function Request(socket) { http.IncomingMessage.call(this, socket); }
Request.prototype = app.request;
function Response(req, options) { http.ServerResponse.call(this, req, options); }
Response.prototype = app.response;
const server = http.createServer({ IncomingMessage: Request, ServerResponse: Response }, app);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => { const u = process.cpuUsage(); process.send({ cpu: u.user + u.system }); });`;

/** [label, variant, the variant it is compared with within each round]. */
const VARIANTS: Array<[string, string, string?]> = [
  ['bare', 'bare'],
  ['an empty middleware layer', 'empty-layer'],
  ['AsyncLocalStorage.run in a middleware layer', 'als-layer'],
  ['AsyncLocalStorage.run at the router entry', 'als-entry', 'als-layer'],
  ['at the router entry: ALS, a close listener and a WeakMap entry', 'als-close-map-entry', 'als-entry'],
  ['at the router entry: core\'s startRequest and run (no finish)', 'core-entry', 'als-entry'],
  ['llmscope metrics, kept a layer (called from the app\'s own middleware)', 'llmscope-layer'],
  ['llmscope metrics, first (router entry)', 'llmscope', 'llmscope-layer'],
  ['llmscope defaults, no exporter, kept a layer', 'llmscope-layer-defaults'],
  ['llmscope defaults, no exporter, first (router entry)', 'llmscope-defaults', 'llmscope-layer-defaults'],
  ['Express 4.22: bare', 'e4-bare'],
  ['Express 4.22: llmscope metrics, kept a layer', 'e4-llmscope-layer'],
  ['Express 4.22: llmscope metrics, first (in expressInit\'s hand-off)', 'e4-llmscope', 'e4-llmscope-layer'],
];

async function measure(variant: string): Promise<number> {
  const node = [process.execPath, '-e', SERVER];
  const taskset = existsSync('/usr/bin/taskset');
  const child = spawn(taskset ? '/usr/bin/taskset' : node[0]!, taskset ? ['-c', '1', ...node] : node.slice(1), {
    cwd: join(__dirname, '..'), env: { ...process.env, VARIANT: variant, NODE_ENV: 'production' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${variant}: server exited with ${code}`)));
      child.on('message', (m: { port?: number }) => { if (m.port !== undefined) resolve(m.port); });
    });
    await runBusyClient(port, 10, WARM_S, '/users/42', []);
    const before = await cpuOf(child);
    const load = await runBusyClient(port, 10, MEASURE_S, '/users/42', []);
    return ((await cpuOf(child)) - before) / Math.max(1, load.requests);
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  pinSelf(0);
  const variants = VARIANTS.filter(([, v]) => ONLY === undefined || v.includes(ONLY) || v === (ONLY.startsWith('e4') ? 'e4-bare' : 'bare'));
  const results = new Map<string, number[]>(variants.map(([, v]) => [v, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [, v] of r % 2 === 0 ? variants : [...variants].reverse()) results.get(v)!.push(await measure(v));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const paired = (v: string, w: string): number => median(results.get(v)!.map((x, i) => x - (results.get(w)![i] as number)));
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  process.stdout.write(`Node ${process.version}, ${ROUNDS} rounds, a fresh process per variant and round\n\n| variant | CPU µs/req, median | added to bare, paired | against its pair, paired | lowest | rounds |\n|---|---:|---:|---:|---:|---|\n`);
  for (const [name, v, pair] of variants) {
    const xs = results.get(v)!;
    process.stdout.write(`| ${name} | ${median(xs).toFixed(1)} | ${v === 'bare' || v === 'e4-bare' ? '' : signed(paired(v, v.startsWith('e4-') ? 'e4-bare' : 'bare'))} | ${pair === undefined || !results.has(pair) ? '' : signed(paired(v, pair))} | ${Math.min(...xs).toFixed(1)} | ${xs.map((x) => x.toFixed(1)).join(', ')} |\n`);
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
