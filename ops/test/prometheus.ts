/**
 * A real Prometheus (Debian's package, installed by scripts/ensure-prometheus.sh when missing) for
 * the ops tests: testkit's `startPrometheus` with the given rule files, one job scraping the given
 * targets, scrapes and rule evaluations every second.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startPrometheus as start, type PrometheusServer } from '@llmscope/testkit';

/** A running Prometheus. */
export type Prometheus = PrometheusServer;

/** Starts Prometheus on 127.0.0.1 and a free port, and waits until it is ready. */
export function startPrometheus(options: { job: string; targets: string[]; ruleFiles: string[] }): Promise<Prometheus> {
  const binary = execFileSync(resolve(__dirname, '../../scripts/ensure-prometheus.sh'), { encoding: 'utf8', timeout: 600_000 }).trim();
  return start({ binary, ...options });
}
