/**
 * What sending one OTLP export costs the app's process, by how many exports the process has sent
 * (issue 17): the per-export cost that `micro-export.ts` reads (~1.5 ms of CPU in its loop) is
 * Node's HTTP client and the OpenTelemetry transport running cold, and it falls as they warm up.
 *
 * Rows: `none`, the loop alone (its timers: the control to subtract with `GAP`); `raw`, a bare `http.request` POST on a keep-alive agent; `otel`, the transport llmscope's
 * OTLP exporter sends through (`createOtlpHttpExportDelegate` of `@opentelemetry/otlp-exporter-base`,
 * built as exporters/otlp.ts builds it: retries, timeout, response reading), with a fixed body in
 * place of the encoder so that only the sending is measured. Each row in its own process pinned to
 * core 1, the sink in a process of its own on core 0. Prints CPU ms an export for each block of
 * `BLOCK` exports (default 500), `EXPORTS` in all (default 4000), bodies of `BYTES` (default
 * 150,000: 512 typical spans), `GAP` ms between exports (default 0: one after the other).
 *
 * `npx tsx src/micro-send.ts` (in `bench/`).
 */
import { Agent, request } from 'node:http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import { runRowsAgainstSink } from './sink';

const MODES = ['none', 'raw', 'otel'] as const;
type Mode = (typeof MODES)[number];

const numberEnv = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

/** A batch as the transport sees it: its body is fixed, its count only read for the transport's log. */
interface FixedBatch {
  readonly length: number;
}

function sender(mode: Mode, url: string, body: Uint8Array): (done: () => void) => void {
  // The control: the loop and its timers, nothing sent (what an idle wait costs with `GAP`).
  if (mode === 'none') return (done) => done();
  if (mode === 'raw') {
    const agent = new Agent({ keepAlive: true });
    const u = new URL(url);
    const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(body.length) };
    return (done) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers }, (res) => {
        res.on('data', () => undefined);
        res.on('end', done);
      });
      req.on('error', done);
      req.end(body);
    };
  }
  const serializer: ISerializer<FixedBatch, IExportTraceServiceResponse> = {
    serializeRequest: () => body,
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
  const options = convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  const base = new OTLPExporterBase<FixedBatch>(createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', { name: 'span', countItems: (b) => b.length }, undefined));
  const batch: FixedBatch = { length: 512 };
  return (done) => base.export(batch, () => done());
}

function runOne(mode: Mode, url: string): void {
  const block = numberEnv('BLOCK', 500);
  const total = numberEnv('EXPORTS', 4000);
  const gap = numberEnv('GAP', 0);
  const send = sender(mode, url, new Uint8Array(numberEnv('BYTES', 150_000)).fill(7));
  const blocks: number[] = [];
  let sent = 0;
  let since = process.cpuUsage();
  const next = (): void => {
    if (sent > 0 && sent % block === 0) {
      const used = process.cpuUsage(since);
      blocks.push(Number(((used.user + used.system) / 1000 / block).toFixed(3)));
      since = process.cpuUsage();
    }
    if (sent === total) {
      process.stdout.write(JSON.stringify({ mode, msPerExportByBlock: blocks }) + '\n');
      process.exit(0);
    }
    sent++;
    send(() => (gap > 0 ? setTimeout(next, gap) : setImmediate(next)));
  };
  next();
}

const [mode, url] = process.argv.slice(2);
if (mode !== undefined) {
  if (!(MODES as readonly string[]).includes(mode) || url === undefined) throw new Error(`micro-send: unknown row ${mode}; one of ${MODES.join(', ')} (and the sink's URL)`);
  runOne(mode as Mode, url);
} else {
  void runRowsAgainstSink(__filename, MODES, numberEnv('RUNS', 1));
}
