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
import autocannon from 'autocannon';
import { CONFIGS, serverEnv } from './configs';
import { pinSelf, ServerProcess } from './process';
import { readProfile, renderSummary, summarise } from './cpuprofile';
import { startSink } from './sink';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = arg('--only');
const seconds = Number(arg('--seconds') ?? 8);
const DEFAULT = ['express bare', 'express + llmscope metrics', 'express + llmscope defaults, no exporter', 'fastify bare', 'fastify + llmscope metrics', 'fastify + llmscope defaults, no exporter'];

async function main(): Promise<void> {
  pinSelf(0);
  const sink = await startSink();
  const dir = join(__dirname, '..', 'results', 'profiles');
  mkdirSync(dir, { recursive: true });
  const configs = CONFIGS.filter((c) => (only === undefined ? DEFAULT.includes(c.name) : c.name.includes(only)));
  for (const config of configs) {
    const server = await ServerProcess.start(config.script, config.variant, serverEnv(config, sink.url), 1);
    try {
      const url = `http://127.0.0.1:${server.port}/users/42`;
      const headers = { 'x-user-id': 'bench-user' };
      await autocannon({ url, connections: 10, duration: 2, headers });
      const file = join(dir, `${config.name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
      await server.profiler({ type: 'profile-start', intervalMicros: 200 });
      const before = await server.sample();
      const result = await autocannon({ url, connections: 10, duration: seconds, headers });
      const after = await server.sample();
      await server.profiler({ type: 'profile-stop', file });
      const cpu = (after.cpu!.user - before.cpu!.user) + (after.cpu!.system - before.cpu!.system);
      const requests = result.requests.total;
      process.stdout.write(`\n${renderSummary(`${config.name}: ${(cpu / requests).toFixed(1)} µs CPU/req (process.cpuUsage, profiler on), ${file}`, summarise(readProfile(file)), requests)}`);
    } finally {
      await server.stop();
    }
  }
  sink.server.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
