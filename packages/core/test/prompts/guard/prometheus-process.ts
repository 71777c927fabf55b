import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { portForChild } from '@llmscope/testkit';

/** A real Prometheus server (Debian's package) scraping the given targets every second. */
export interface PrometheusProcess {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts Prometheus on 127.0.0.1 and `port` (default one from {@link portForChild}), with a fresh TSDB in a temporary folder,
 * scraping `targets` (host:port) as job `job` every second. The binary is installed by
 * scripts/ensure-prometheus.sh when missing (apt-get, as root or with sudo). `flags` are added to
 * the command line (e.g. `--enable-feature=exemplar-storage`).
 */
export async function startPrometheus(job: string, targets: string[], port?: number, flags: readonly string[] = []): Promise<PrometheusProcess> {
  const binary = execFileSync(resolve(__dirname, '../../../../../scripts/ensure-prometheus.sh'), { encoding: 'utf8', timeout: 600_000 }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(job)}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n'));
  port ??= await portForChild();
  const child: ChildProcess = spawn(binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...flags,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus not ready within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
