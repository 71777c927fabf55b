import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portForChild } from './listen';

/** What {@link startPrometheus} starts. */
export interface PrometheusOptions {
  /** The `prometheus` binary (the tests of this repository get it from `scripts/ensure-prometheus.sh`). */
  binary: string;
  /** The scrape job's name. */
  job: string;
  /** What the job scrapes, `host:port` each. */
  targets: readonly string[];
  /** Rule files to load (absolute paths), evaluated every second. */
  ruleFiles?: readonly string[];
  /** More command-line flags, e.g. `--enable-feature=exemplar-storage`. */
  flags?: readonly string[];
  /** The port to listen on (127.0.0.1). Default: one from {@link portForChild}. */
  port?: number;
}

/** The `data` of a successful instant query of a vector. */
export interface InstantVector {
  resultType: string;
  result: { metric: Record<string, string>; value: [number, string] }[];
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** GET /api/v1/query at the current time; throws on a transport error or a non-success status. */
  query(expr: string): Promise<InstantVector>;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and removes its TSDB. */
  close(): Promise<void>;
}

interface ApiAnswer {
  status: 'success' | 'error';
  data?: InstantVector;
  error?: string;
  errorType?: string;
}

/**
 * Starts a real Prometheus on 127.0.0.1 with a fresh TSDB in a temporary folder, one job scraping
 * `targets` and the rule files evaluated every second, and waits (up to 60 s) until it is ready.
 * The port is below the kernel's ephemeral range by default ({@link portForChild}): parallel
 * tests' servers and outgoing connections cannot take it before Prometheus binds it.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    '  evaluation_interval: 1s',
    ...(options.ruleFiles === undefined || options.ruleFiles.length === 0 ? [] : [`rule_files: ${JSON.stringify(options.ruleFiles)}`]),
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(options.job)}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
    '',
  ].join('\n'));
  const port = options.port ?? (await portForChild());
  const child = spawn(options.binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...(options.flags ?? []),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // A binary that cannot be started reports through 'error' (ENOENT), not an exit code.
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const url = `http://127.0.0.1:${port}`;
  const close = async (): Promise<void> => {
    if (child.exitCode === null && spawnError === undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (spawnError !== undefined || child.exitCode !== null) {
      await close();
      throw new Error(spawnError !== undefined ? `prometheus could not start (${options.binary}): ${spawnError.message}` : `prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus not ready within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await res.json()) as ApiAnswer;
      if (body.status !== 'success' || body.data === undefined) throw new Error(`${body.errorType ?? res.status}: ${body.error ?? 'no data'}`);
      return body.data;
    },
    close,
  };
}
