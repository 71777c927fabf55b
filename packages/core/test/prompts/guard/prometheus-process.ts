import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startPrometheus as start, type PrometheusServer } from '@llmscope/testkit';

/** A real Prometheus server (Debian's package) scraping the given targets every second. */
export type PrometheusProcess = PrometheusServer;

/**
 * Starts Prometheus (testkit's `startPrometheus`) scraping `targets` (host:port) as job `job`,
 * on `port` when given. The binary is installed by scripts/ensure-prometheus.sh when missing
 * (apt-get, as root or with sudo). `flags` are added to the command line.
 */
export function startPrometheus(job: string, targets: string[], port?: number, flags: readonly string[] = []): Promise<PrometheusProcess> {
  const binary = execFileSync(resolve(__dirname, '../../../../../scripts/ensure-prometheus.sh'), { encoding: 'utf8', timeout: 600_000 }).trim();
  return start({ binary, job, targets, port, flags });
}
