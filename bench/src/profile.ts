/**
 * `npx tsx src/profile.ts [--only <text>] [--seconds 8]`: CPU profiles of the bench servers under
 * autocannon load (issue 17 item 1). Each configuration runs as in `run.ts` (own process pinned to
 * core 1, load from core 0); after a warm-up the V8 CPU profiler (what `node --cpu-prof` runs)
 * records the measured window only, through the inspector (harness.ts). Writes
 * `results/profiles/<configuration>.cpuprofile` (open in Chrome DevTools or speedscope) and
 * prints, per configuration, CPU µs per request by owner (llmscope, framework, OpenTelemetry,
 * prom-client, Node) and the top functions (cpuprofile.ts).
 *
 * Default: Express and Fastify, bare / metrics / defaults with no exporter.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readProfile, renderSummary, summarise } from './cpuprofile';
import { cliArg, eachServer, runMain } from './each-server';
import { loadServer } from './measure';

const seconds = Number(cliArg('--seconds') ?? 8);
const DEFAULT = ['express bare', 'express + llmscope metrics', 'express + llmscope defaults, no exporter', 'fastify bare', 'fastify + llmscope metrics', 'fastify + llmscope defaults, no exporter'];

const dir = join(__dirname, '..', 'results', 'profiles');
mkdirSync(dir, { recursive: true });

runMain(() => eachServer(DEFAULT, async (config, server) => {
  await loadServer(server, 2);
  const file = join(dir, `${config.name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
  await server.profiler({ type: 'profile-start', intervalMicros: 200 });
  const before = await server.sample();
  const result = await loadServer(server, seconds);
  const after = await server.sample();
  await server.profiler({ type: 'profile-stop', file });
  const cpu = (after.cpu!.user - before.cpu!.user) + (after.cpu!.system - before.cpu!.system);
  const requests = result.requests;
  process.stdout.write(`\n${renderSummary(`${config.name}: ${(cpu / requests).toFixed(1)} µs CPU/req (process.cpuUsage, profiler on), ${file}`, summarise(readProfile(file)), requests)}`);
}));
