/**
 * `npx tsx src/micro-ids.ts`: CPU ns per trace id + span id pair, llmscope's
 * `PooledIdGenerator` (packages/core/src/tracing/ids.ts) against OpenTelemetry's
 * `RandomIdGenerator` (and as a root span draws them, both from one conversion), 1,000,000 pairs a round, 5 rounds alternating, one process (run it pinned:
 * `taskset -c 1 npx tsx src/micro-ids.ts`). The ids are read (a character each) and one in 1,024
 * kept, so that none of the work can be optimised away.
 */
import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import { PooledIdGenerator } from '../../packages/core/src/tracing/ids';

const PAIRS = 1_000_000;
/** A root span's ids as llmscope's tracer takes them: one draw for both (`generateRootIds`). */
class RootPairs implements IdGenerator {
  private readonly ids = new PooledIdGenerator();
  generateTraceId(): string {
    return this.ids.generateRootIds();
  }
  generateSpanId(): string {
    return this.ids.rootSpanId;
  }
}
const generators: Array<[string, IdGenerator]> = [['opentelemetry', new RandomIdGenerator()], ['pooled', new PooledIdGenerator()], ['pooled, root pair', new RootPairs()]];
const kept = new Map<number, string>();

function round(g: IdGenerator): number {
  let x = 0;
  const start = process.cpuUsage();
  for (let i = 0; i < PAIRS; i++) {
    const traceId = g.generateTraceId();
    const spanId = g.generateSpanId();
    x += traceId.charCodeAt(31) + spanId.charCodeAt(15);
    if ((i & 1023) === 0) kept.set(i & 4095, traceId + spanId);
  }
  const used = process.cpuUsage(start);
  if (x === 0) throw new Error('no ids');
  return ((used.user + used.system) * 1000) / PAIRS;
}

const results = new Map<string, number[]>(generators.map(([name]) => [name, []]));
for (let r = 0; r < 5; r++) for (const [name, g] of r % 2 === 0 ? generators : [...generators].reverse()) results.get(name)!.push(round(g));
for (const [name, ns] of results) {
  const sorted = [...ns].sort((a, b) => a - b);
  process.stdout.write(`${name}: median ${(sorted[2] as number).toFixed(0)} ns a pair (rounds ${ns.map((n) => n.toFixed(0)).join(', ')})\n`);
}
