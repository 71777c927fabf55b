/**
 * `npx tsx src/prototype-change.ts [--seconds 4] [--only a,b]`: what Express's per-request prototype change
 * costs on the Node that runs it (docs/performance.md, "Express on Node 20 and 22").
 *
 * Express (4 and 5) gives every request and response its app's prototypes with
 * `Object.setPrototypeOf(req, app.request)` (and `res`). Three servers, each alone on core 1 under
 * the busy client (core 0), with `--trace-gc`:
 * - `node:http`: a plain handler that answers JSON;
 * - `node:http + setPrototypeOf`: the same handler after Express's two prototype changes, nothing else;
 * - `express`: the bench's Express route, no middleware;
 * - `express + llmscope (metrics)`: the same with `llmscope({ tracing: false })` first;
 * - `express, server made with the app's prototypes`: the same app on a server whose requests and
 *   responses are born with the app's prototypes, so that Express's change is a no-op;
 * - `express, 3 middleware` and `..., then llmscope (metrics)`: the route behind `express.json()`,
 *   a header-setting and a property-setting middleware, bare and with llmscope after them.
 * Prints CPU µs a request and the scavenges of the measured window (count, median and longest
 * pause, MB the heap kept growing by per scavenge: what each one promoted).
 * Run it under several Node versions (`npx -y -p node@24 node --import tsx src/prototype-change.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chosenByOnly, cliArg } from './each-server';
import { runBusyClient } from './client';
import { cpuOf, pinSelf } from './process';

const SECONDS = Number(cliArg('--seconds') ?? 4);

const PLAIN = `
const http = require('node:http');
const change = process.env.CHANGE === '1';
const reqProto = Object.create(http.IncomingMessage.prototype);
const resProto = Object.create(http.ServerResponse.prototype);
const server = http.createServer((req, res) => {
  if (change) { Object.setPrototypeOf(req, reqProto); Object.setPrototypeOf(res, resProto); }
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ id: req.url.slice(7), name: 'Ada' }));
});`;

const EXPRESS = `
const app = require('express')();
app.get('/users/:id', (req, res) => { res.json({ id: req.params.id, name: 'Ada' }); });
const server = require('node:http').createServer(app);`;

// The same app with llmscope's middleware first (metrics only): on V8 before 13 it puts each
// request and response in dictionary mode after Express's change (packages/express/src/prototype-change.ts).
const EXPRESS_LLMSCOPE = `
const app = require('express')();
app.use(require('@llmscope/express').llmscope({ tracing: false, metrics: { defaultMetrics: false } }));
app.get('/users/:id', (req, res) => { res.json({ id: req.params.id, name: 'Ada' }); });
const server = require('node:http').createServer(app);`;

// Middleware an app commonly puts first (a body parser, a CORS-style header, a property of its
// own), before llmscope's or with none: the wrapped app `handle` covers them (requests are in
// dictionary mode from the first layer).
const MIDDLEWARE = `
app.use(require('express').json());
app.use((req, res, next) => { res.setHeader('access-control-allow-origin', '*'); next(); });
app.use((req, res, next) => { req.requestTime = Date.now(); next(); });`;
const EXPRESS_MIDDLEWARE = `
const app = require('express')();
${MIDDLEWARE}
if (process.env.LLMSCOPE === '1') app.use(require('@llmscope/express').llmscope({ tracing: false, metrics: { defaultMetrics: false } }));
app.get('/users/:id', (req, res) => { res.json({ id: req.params.id, name: 'Ada' }); });
const server = require('node:http').createServer(app);`;

// The same app, its server creating requests and responses with the app's prototypes: Express's
// setPrototypeOf then changes nothing (docs/express.md, "On Node 20 and 22").
const EXPRESS_OWN_PROTOTYPES = `
const http = require('node:http');
const app = require('express')();
app.get('/users/:id', (req, res) => { res.json({ id: req.params.id, name: 'Ada' }); });
function Request(socket) { http.IncomingMessage.call(this, socket); }
Request.prototype = app.request;
function Response(req, options) { http.ServerResponse.call(this, req, options); }
Response.prototype = app.response;
const server = http.createServer({ IncomingMessage: Request, ServerResponse: Response }, app);`;

// Tells the orchestrator its port, then its CPU time when asked (over IPC; stdout carries --trace-gc).
const SERVE = `
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => { const u = process.cpuUsage(); process.send({ cpu: u.user + u.system, mark: true }); console.log('--- mark'); });`;

interface Window { requests: number; cpuMicros: number; scavenges: number[]; promotedMb: number[] }

function start(code: string, env: Record<string, string>): { child: ChildProcess; lines: string[]; port: Promise<number> } {
  const node = ['--trace-gc', '-e', code];
  const taskset = existsSync('/usr/bin/taskset');
  const child = spawn(taskset ? '/usr/bin/taskset' : process.execPath, taskset ? ['-c', '1', process.execPath, ...node] : node, {
    cwd: join(__dirname, '..'), env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (rest + d.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  const port = new Promise<number>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
    child.on('message', (m: { port?: number }) => { if (m.port !== undefined) resolve(m.port); });
  });
  return { child, lines, port };
}


/** Pause (ms) and heap size after (MB) of each `Scavenge` line of --trace-gc after the last mark but one. */
function scavengesBetweenMarks(lines: string[]): { pauses: number[]; after: number[] } {
  const marks = lines.reduce<number[]>((at, line, i) => (line === '--- mark' ? [...at, i] : at), []);
  const window = lines.slice(marks[marks.length - 2] ?? 0, marks[marks.length - 1]);
  const pauses: number[] = [];
  const after: number[] = [];
  for (const line of window) {
    const m = /Scavenge [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB,(?: pooled: [\d.]+ MB,)? ([\d.]+) \//.exec(line);
    if (m === null) continue;
    after.push(Number(m[1]));
    pauses.push(Number(m[2]));
  }
  return { pauses, after };
}

async function measure(code: string, env: Record<string, string>): Promise<Window> {
  const { child, lines, port } = start(code, env);
  try {
    const p = await port;
    await runBusyClient(p, 10, 1, '/users/42', []);
    const before = await cpuOf(child);
    const load = await runBusyClient(p, 10, SECONDS, '/users/42', []);
    const after = await cpuOf(child);
    // The mark's line reaches stdout after the answer: give it a moment.
    await new Promise((r) => setTimeout(r, 100));
    const { pauses, after: heap } = scavengesBetweenMarks(lines);
    const promotedMb = heap.slice(1).map((h, i) => h - (heap[i] as number));
    return { requests: load.requests, cpuMicros: (after - before) / Math.max(1, load.requests), scavenges: pauses, promotedMb };
  } finally {
    child.kill('SIGKILL');
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor(s.length / 2)] as number);
};

async function main(): Promise<void> {
  pinSelf(0);
  const rows: Array<[string, string, Record<string, string>]> = [
    ['node:http', PLAIN + SERVE, { CHANGE: '0' }],
    ['node:http + setPrototypeOf', PLAIN + SERVE, { CHANGE: '1' }],
    ['express', EXPRESS + SERVE, {}],
    ['express + llmscope (metrics)', EXPRESS_LLMSCOPE + SERVE, {}],
    ['express, server made with the app\'s prototypes', EXPRESS_OWN_PROTOTYPES + SERVE, {}],
    ['express, 3 middleware', EXPRESS_MIDDLEWARE + SERVE, { LLMSCOPE: '0' }],
    ['express, 3 middleware, then llmscope (metrics)', EXPRESS_MIDDLEWARE + SERVE, { LLMSCOPE: '1' }],
  ];
  process.stdout.write(`Node ${process.version}, ${SECONDS} s a server, busy client, 10 connections\n\n`);
  process.stdout.write('| server | req/s | CPU µs/req | scavenges | median pause ms | longest ms | heap growth per scavenge, median MB |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const [name, code, env] of rows.filter(([n]) => chosenByOnly(n) ?? true)) {
    const w = await measure(code, env);
    process.stdout.write(`| ${name} | ${Math.round(w.requests / SECONDS)} | ${w.cpuMicros.toFixed(1)} | ${w.scavenges.length} | ${median(w.scavenges).toFixed(2)} | ${Math.max(0, ...w.scavenges).toFixed(2)} | ${median(w.promotedMb).toFixed(2)} |\n`);
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
