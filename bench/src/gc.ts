/**
 * `npx tsx src/gc.ts [--only <text>] [--seconds 5]`: what garbage collection costs a bench server
 * under the bench's load. Each configuration runs as in `run.ts` (own process pinned to core 1,
 * load from core 0) with `node --trace-gc`; after a warm-up, the collections V8 reports during the
 * measured window are summed: scavenges (young generation: their count and median pause) and
 * mark-compacts (old generation), and the total pause per request. Long-lived objects on the
 * request path (spans waiting in an export queue) show as slower scavenges and mark-compacts.
 *
 * Default: Fastify + llmscope with no exporter and with every trace exported.
 */
import { cliArg, eachServer, runMain } from './each-server';
import { loadServer } from './measure';

const seconds = Number(cliArg('--seconds') ?? 5);
const DEFAULT = ['fastify + llmscope defaults, no exporter', 'fastify + llmscope full'];

/** One `--trace-gc` line: `... Scavenge 35.8 (56.1) -> 22.5 (56.1) MB, 0.66 / 0.00 ms ...`. */
const LINE = /(Scavenge|Mark-Compact|Mark-sweep)\b.*?MB, ([0-9.]+) /;

runMain(() => eachServer(DEFAULT, async (config, server) => {
  const scavenges: number[] = [];
  let marks = 0;
  let total = 0;
  let measuring = false;
  let rest = '';
  server.child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    if (!measuring) return;
    for (const line of lines) {
      const m = LINE.exec(line);
      if (m === null) continue;
      const ms = Number(m[2]);
      total += ms;
      if (m[1] === 'Scavenge') scavenges.push(ms);
      else marks++;
    }
  });
  await loadServer(server, 2);
  measuring = true;
  const result = await loadServer(server, seconds);
  measuring = false;
  const requests = result.requests;
  scavenges.sort((a, b) => a - b);
  const median = scavenges.length === 0 ? 0 : (scavenges[Math.floor(scavenges.length / 2)] as number);
  process.stdout.write(`${config.name}: ${requests} requests, ${scavenges.length} scavenges (median ${median.toFixed(2)} ms), ${marks} mark-compacts, ${total.toFixed(0)} ms in all = ${((total * 1000) / requests).toFixed(2)} µs a request\n`);
}, ['--trace-gc'], 'pipe'));
