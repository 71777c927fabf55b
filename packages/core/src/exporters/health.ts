import type { Counter, Registry } from 'prom-client';
import { droppedCounter } from '../http/prom';

/** Where exporter trouble is reported: one warning line. */
export type WarnSink = (fields: Record<string, unknown>, message: string) => void;

/** Default sink: a process warning (shows on stderr once per call, never throws). */
export const processWarning: WarnSink = (fields, message) => {
  process.emitWarning(`${message} ${JSON.stringify(fields)}`, 'LlmscopeWarning');
};

/**
 * Keeps exporter trouble from hurting or flooding the app: counts dropped telemetry in
 * `llmscope_telemetry_dropped_total{exporter}` and logs an exporter's failures at most once per
 * interval (with how many happened since the last line).
 */
export class TelemetryHealth {
  private readonly counter: Counter<'exporter'> | undefined;
  private readonly totals = new Map<string, number>();
  private readonly lastLog = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    registry: Registry | undefined,
    private readonly warn: WarnSink,
    private readonly intervalMs: number,
  ) {
    if (registry !== undefined) {
      this.counter = droppedCounter(registry);
    }
  }

  /** Counts `n` items `exporter` had to drop. */
  dropped(exporter: string, n: number): void {
    if (n <= 0) return;
    this.totals.set(exporter, (this.totals.get(exporter) ?? 0) + n);
    this.counter?.inc({ exporter }, n);
  }

  /** Total dropped by `exporter` since start (also without a metrics registry). */
  droppedTotal(exporter: string): number {
    return this.totals.get(exporter) ?? 0;
  }

  /** Reports a failed export; logged at most once per interval per exporter. */
  failed(exporter: string, error: unknown): void {
    const now = Date.now();
    const last = this.lastLog.get(exporter);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(exporter, (this.suppressed.get(exporter) ?? 0) + 1);
      return;
    }
    const suppressed = this.suppressed.get(exporter) ?? 0;
    this.lastLog.set(exporter, now);
    this.suppressed.set(exporter, 0);
    try {
      this.warn({
        exporter,
        error: error instanceof Error ? error.message : String(error),
        failures_since_last_log: suppressed,
        dropped_total: this.droppedTotal(exporter),
      }, `llmscope: the ${exporter} exporter is failing; telemetry is being dropped (logged at most once every ${Math.round(this.intervalMs / 1000)} s)`);
    } catch {
      // A logger that throws must not turn a telemetry problem into an app problem.
    }
  }
}
