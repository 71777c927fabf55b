import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The `prometheus` binary for testkit's `startPrometheus`, shared by the tests that start a real
 * Prometheus (core's guard and exemplar tests, the ops tests): Debian's package, installed by
 * scripts/ensure-prometheus.sh when missing (apt-get, as root or with sudo).
 */
export function prometheusBinary(): string {
  return execFileSync(resolve(__dirname, '../scripts/ensure-prometheus.sh'), { encoding: 'utf8', timeout: 600_000 }).trim();
}
