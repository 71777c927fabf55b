/**
 * `npx tsx src/sampling-stats.ts [--only <text>] [--seconds 8] [--client busy|autocannon]`: what
 * the tail sampler kept and what the exporters dropped under the bench's load, read from each
 * server's own `/metrics` (`llmscope_sampling_traces_total`, `llmscope_telemetry_dropped_total`)
 * before and after the measured window. Default: Fastify defaults + OTLP and full.
 */
import { benchClient } from './client';
import { cliArg, eachServer, runMain } from './each-server';
import { loadServer } from './measure';

const seconds = Number(cliArg('--seconds') ?? 8);
const DEFAULT = ['fastify + llmscope defaults + OTLP exporter', 'fastify + llmscope full'];
const SERIES = /^(llmscope_sampling_traces_total|llmscope_telemetry_dropped_total)(\{[^}]*\})? ([0-9.e+]+)$/;

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = SERIES.exec(line);
    if (m !== null) values.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return values;
}

runMain(() => eachServer(DEFAULT, async (config, server) => {
  const client = benchClient();
  await loadServer(server, 2);
  const before = await scrape(server.port);
  const r = await loadServer(server, seconds);
  const after = await scrape(server.port);
  const lines = [...after].map(([series, v]) => `  ${series} +${v - (before.get(series) ?? 0)}`);
  process.stdout.write(`${config.name} (${client}): ${r.requests} requests in ${seconds} s\n${lines.join('\n')}\n`);
}));
