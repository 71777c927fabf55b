import type { Counter, Gauge, Registry } from 'prom-client';
import { counter, droppedCounter, gauge } from '../http/prom';
import { counterChild, type InPlaceCounter } from '../http/prom-children';

/** Why a trace was kept, or `sampled_out` when it was dropped. */
export type SamplingReason = 'error' | 'slow' | 'route_latency' | 'priority' | 'base_rate' | 'sampled_out';
/** Why a trace left the buffer before its root ended. */
export type EvictionReason = 'max_traces' | 'max_age' | 'shutdown';

/** What the tail sampler reads to fill its gauges at scrape time. */
export interface BufferGauges {
  readonly openTraces: number;
  readonly bufferedSpans: number;
}

const gaugeSources = new WeakMap<Gauge, Set<() => number>>();

function sumGauge(registry: Registry, name: string, help: string, read: () => number): { gauge: Gauge; read: () => number } {
  const g = gauge(registry, name, help, [], function collect(this: Gauge) {
    // Two instances sharing a registry share the gauge: it reports their sum.
    let total = 0;
    for (const r of gaugeSources.get(this) ?? []) total += r();
    this.set(total);
  });
  let set = gaugeSources.get(g);
  if (set === undefined) gaugeSources.set(g, (set = new Set()));
  set.add(read);
  return { gauge: g, read };
}

/**
 * The tail sampler's Prometheus side: decisions, early evictions, spans it had to drop (in the
 * shared `llmscope_telemetry_dropped_total{exporter="tail_sampler"}`), and the buffer's size.
 * Children are resolved once; a decision (one per trace) is counted in place, without prom-client's
 * per-call label hashing (`http/prom-children.ts`).
 */
export class SamplingMetrics {
  private readonly decisions = new Map<SamplingReason, InPlaceCounter>();
  private readonly evictions = new Map<EvictionReason, Counter.Internal>();
  private readonly dropped: Counter.Internal | undefined;
  private readonly detach: (() => void) | undefined;

  constructor(registry: Registry | undefined, buffer: BufferGauges) {
    if (registry === undefined) return;
    const traces = counter(registry, 'llmscope_sampling_traces_total', 'Traces decided by the tail sampler: decision kept (reason error, slow, route_latency, priority, base_rate) or dropped (reason sampled_out).', ['decision', 'reason']);
    for (const reason of ['error', 'slow', 'route_latency', 'priority', 'base_rate'] as const) this.decisions.set(reason, counterChild(traces, { decision: 'kept', reason }));
    this.decisions.set('sampled_out', counterChild(traces, { decision: 'dropped', reason: 'sampled_out' }));
    const evicted = counter(registry, 'llmscope_sampling_evicted_traces_total', 'Traces the tail sampler decided before their root span ended, on what it held: buffer full (max_traces), held too long (max_age), or shutdown.', ['reason']);
    // inc(0): a healthy app shows its zeros (a dashboard panel reads 0, not "No data").
    for (const reason of ['max_traces', 'max_age', 'shutdown'] as const) {
      const child = evicted.labels({ reason });
      child.inc(0);
      this.evictions.set(reason, child);
    }
    this.dropped = droppedCounter(registry).labels({ exporter: 'tail_sampler' });
    this.dropped.inc(0);
    const a = sumGauge(registry, 'llmscope_sampling_buffer_traces', 'Traces held by the tail sampler, waiting for their root span to end.', () => buffer.openTraces);
    const b = sumGauge(registry, 'llmscope_sampling_buffer_spans', 'Spans held by the tail sampler.', () => buffer.bufferedSpans);
    this.detach = () => {
      gaugeSources.get(a.gauge)?.delete(a.read);
      gaugeSources.get(b.gauge)?.delete(b.read);
    };
  }

  decided(reason: SamplingReason): void {
    this.decisions.get(reason)?.inc();
  }

  evicted(reason: EvictionReason): void {
    this.evictions.get(reason)?.inc();
  }

  droppedSpans(n: number): void {
    if (n > 0) this.dropped?.inc(n);
  }

  /** Stops reporting this buffer in the gauges (the instance shut down). */
  close(): void {
    this.detach?.();
  }
}
