/**
 * A real Prometheus (Debian's package, installed by scripts/ensure-prometheus.sh when missing) for
 * the ops tests: a fresh TSDB in a temporary folder, the given rule files, one job scraping the
 * given targets, scrapes and rule evaluations every second.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { portForChild } from '@llmscope/testkit';

/** A running Prometheus. */
export interface Prometheus {
  readonly url: string;
  /** GET /api/v1/query at the current time; throws on a transport error or a non-success status. */
  query(expr: string): Promise<InstantVector>;
  close(): Promise<void>;
}

/** The `data` of a successful instant query of a vector. */
export interface InstantVector {
  resultType: string;
  result: { metric: Record<string, string>; value: [number, string] }[];
}

interface ApiAnswer {
  status: 'success' | 'error';
  data?: InstantVector;
  error?: string;
  errorType?: string;
}

/** Starts Prometheus on 127.0.0.1 and a free port, and waits until it is ready. */
export async function startPrometheus(options: { job: string; targets: string[]; ruleFiles: string[] }): Promise<Prometheus> {
  const binary = execFileSync(resolve(__dirname, '../../scripts/ensure-prometheus.sh'), { encoding: 'utf8', timeout: 600_000 }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-ops-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    '  evaluation_interval: 1s',
    `rule_files: ${JSON.stringify(options.ruleFiles)}`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(options.job)}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
    '',
  ].join('\n'));
  // Below the ephemeral range: the parallel tests' servers and connections cannot take it first.
  const port = await portForChild();
  const child = spawn(binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const url = `http://127.0.0.1:${port}`;
  const close = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
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
      const body = await res.json() as ApiAnswer;
      if (body.status !== 'success' || body.data === undefined) throw new Error(`${body.errorType ?? res.status}: ${body.error ?? 'no data'}`);
      return body.data;
    },
    close,
  };
}
