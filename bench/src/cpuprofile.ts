/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): CPU time by owner (llmscope,
 * the web framework, OpenTelemetry, prom-client, the app and bench harness, Node itself, GC)
 * and the top functions by self time. Node's own frames (`node:` modules, natives) are also
 * charged to the nearest caller that is not Node, which answers "what did llmscope make Node
 * do" (the `close` listener, `setHeader`, AsyncLocalStorage) better than self time alone.
 *
 * `npx tsx src/cpuprofile.ts <file.cpuprofile> [requests]`: with the request count, times are
 * given in µs per request.
 */
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Who a frame belongs to. `node` frames are charged to their caller in the "charged" view. */
export type Owner = 'llmscope' | 'framework' | 'otel' | 'prom-client' | 'app' | 'node' | 'gc' | 'idle';

const FRAMEWORK = /node_modules\/(express|router|fastify|@fastify|find-my-way|light-my-request|avvio|@nestjs|body-parser|finalhandler|send|serve-static|path-to-regexp|qs|on-finished|content-type|encodeurl|escape-html|etag|fresh|parseurl|proxy-addr|accepts|negotiator|mime-types|mime-db|type-is|vary|cookie|cookie-signature|depd|statuses|http-errors|safe-buffer|content-disposition|range-parser|merge-descriptors|methods|utils-merge|array-flatten|debug|ms|iconv-lite|raw-body|bytes|unpipe|destroy|ee-first|forwarded|ipaddr\.js|media-typer|setprototypeof|toidentifier|inherits|fast-json-stringify|fast-querystring|fast-decode-uri-component|rfdc|secure-json-parse|process-warning|abstract-logging|pino|toad-cache|fast-uri|ajv|json-schema-ref-resolver|rxjs|tslib|reflect-metadata|iterare|uid|lodash|@lukeed|fast-safe-stringify|once|wrappy|call-bind|call-bound|get-intrinsic|side-channel|object-inspect|es-errors|function-bind|hasown|has-symbols|gopd|dunder-proto|math-intrinsics|es-object-atoms|es-define-property|get-proto)\//;

export function ownerOf(frame: CallFrame): Owner {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(idle)' || functionName === '(program)') return 'idle';
  if (url.includes('/packages/') && !url.includes('node_modules')) return 'llmscope';
  if (url.includes('node_modules/@llmscope/')) return 'llmscope';
  if (url.includes('node_modules/@opentelemetry/')) return 'otel';
  if (url.includes('node_modules/prom-client/') || url.includes('node_modules/tdigest') || url.includes('node_modules/bintrees')) return 'prom-client';
  if (FRAMEWORK.test(url)) return 'framework';
  if (url.includes('/bench/src/') || url.includes('node_modules/')) return 'app';
  // `node:` modules, Node's internals (no url) and natives.
  return 'node';
}

export interface Summary {
  totalMs: number;
  /** Self time by owner, ms. */
  self: Record<Owner, number>;
  /** Self time with Node's frames charged to the nearest non-Node caller, ms. */
  charged: Record<Owner, number>;
  /** Top functions by self time: `owner name (file:line)`, ms. */
  top: { owner: Owner; name: string; ms: number }[];
  /** Node frames charged to llmscope, by the first llmscope frame above them, ms. */
  llmscopeCallers: { name: string; ms: number }[];
}

const zero = (): Record<Owner, number> => ({ llmscope: 0, framework: 0, otel: 0, 'prom-client': 0, app: 0, node: 0, gc: 0, idle: 0 });

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules|packages)\//, '').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} (${file}:${frame.lineNumber + 1})`;
}

export function summarise(profile: CpuProfile, topN = 25): Summary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfByNode = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    // A sample's time is the delta to the next sample.
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
  }
  const self = zero();
  const charged = zero();
  const byFunction = new Map<string, { owner: Owner; ms: number }>();
  const callers = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of selfByNode) {
    const node = byId.get(id) as ProfileNode;
    const owner = ownerOf(node.callFrame);
    totalMs += ms;
    self[owner] += ms;
    const key = label(node.callFrame);
    const f = byFunction.get(key) ?? { owner, ms: 0 };
    f.ms += ms;
    byFunction.set(key, f);
    let chargedTo: Owner = owner;
    if (owner === 'node') {
      // Walk up to the first frame that is not Node's own.
      let up = parent.get(id);
      while (up !== undefined) {
        const frame = (byId.get(up) as ProfileNode).callFrame;
        const o = ownerOf(frame);
        if (o !== 'node' && o !== 'idle') {
          chargedTo = o;
          if (o === 'llmscope') callers.set(label(frame), (callers.get(label(frame)) ?? 0) + ms);
          break;
        }
        up = parent.get(up);
      }
    }
    charged[chargedTo] += ms;
  }
  const top = [...byFunction].map(([name, f]) => ({ owner: f.owner, name, ms: f.ms })).filter((f) => f.owner !== 'idle').sort((a, b) => b.ms - a.ms).slice(0, topN);
  const llmscopeCallers = [...callers].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms).slice(0, 10);
  return { totalMs, self, charged, top, llmscopeCallers };
}

/** The summary as text; times per request in µs when `requests` is given, else ms. */
export function renderSummary(title: string, s: Summary, requests?: number): string {
  const unit = requests === undefined ? 'ms' : 'µs/req';
  const v = (ms: number): string => (requests === undefined ? ms.toFixed(1) : ((ms * 1000) / requests).toFixed(2));
  const owners = (Object.keys(s.self) as Owner[]).filter((o) => o !== 'idle');
  const busy = owners.reduce((sum, o) => sum + s.self[o], 0);
  const lines = [`## ${title}`, '', `busy ${v(busy)} ${unit}${requests === undefined ? '' : ` over ${requests} requests`}`, '', `| owner | self ${unit} | Node's frames charged to caller, ${unit} |`, '|---|---:|---:|'];
  for (const o of owners) lines.push(`| ${o} | ${v(s.self[o])} | ${o === 'node' ? v(s.charged.node) + ' (no non-Node caller)' : v(s.charged[o])} |`);
  lines.push('', `Top functions by self time (${unit}):`, '');
  for (const f of s.top) lines.push(`- ${v(f.ms)}  [${f.owner}] ${f.name}`);
  if (s.llmscopeCallers.length > 0) {
    lines.push('', `Node's frames charged to llmscope, by llmscope caller (${unit}):`, '');
    for (const c of s.llmscopeCallers) lines.push(`- ${v(c.ms)}  ${c.name}`);
  }
  return lines.join('\n') + '\n';
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

if (require.main === module) {
  const [file, requests] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: tsx src/cpuprofile.ts <file.cpuprofile> [requests]');
    process.exit(2);
  }
  process.stdout.write(renderSummary(file, summarise(readProfile(file)), requests === undefined ? undefined : Number(requests)));
}
