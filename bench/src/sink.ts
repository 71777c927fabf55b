import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';

/**
 * A local OTLP/HTTP endpoint that accepts and discards exports: the "live backend" of the full
 * configurations. It answers as a collector does, in the request's encoding: an empty
 * `ExportTraceServiceResponse` (no bytes) to protobuf, `{}` to JSON. (It used to answer `{}` to
 * both, which the protobuf exporter reads as a malformed response: a caught exception an export.)
 */
export async function startSink(): Promise<{ url: string; server: Server; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      received++;
      if (req.headers['content-type'] === 'application/x-protobuf') {
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1/traces`, server, received: () => received };
}

/**
 * {@link startSink} in a process of its own, pinned to core 0 where `taskset` is (the bench's
 * servers and measured loops run on core 1): what an app's process pays for exporting, without
 * the sink's reading of the bodies. `close()` ends it.
 */
export async function startSinkProcess(): Promise<{ url: string; close: () => void }> {
  const pin = process.platform === 'linux' ? ['/usr/bin/taskset', '-c', '0'] : [];
  const [cmd, ...args] = [...pin, process.execPath, ...process.execArgv, __filename];
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { url, close: () => void child.kill() };
}

/**
 * Runs a micro-benchmark's rows, each in a process of its own pinned to core 1 (`script row
 * sinkUrl`, NODE_ENV=production, this process's Node flags), `runs` times over, against one sink
 * process on core 0, and prints what each row printed (its stderr too when it failed).
 */
export async function runRowsAgainstSink(script: string, rows: readonly string[], runs: number): Promise<void> {
  const sink = await startSinkProcess();
  const env = { ...process.env, NODE_ENV: 'production' };
  const pin = process.platform === 'linux' ? ['/usr/bin/taskset', '-c', '1'] : [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const row of rows) {
        const [cmd, ...args] = [...pin, process.execPath, ...process.execArgv, script, row, sink.url];
        const out = spawnSync(cmd as string, args, { env, encoding: 'utf8' });
        process.stdout.write(out.stdout + (out.status === 0 ? '' : out.stderr));
      }
    }
  } finally {
    sink.close();
  }
}

// Run as a script (by startSinkProcess): serve, and print the URL for the parent.
if (require.main === module) void startSink().then((sink) => process.stdout.write(`${sink.url}\n`));
