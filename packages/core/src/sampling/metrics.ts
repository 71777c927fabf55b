import { Counter, type Gauge, type Registry } from 'prom-client';
import { counter, droppedCounter, gauge, getOrCreate } from '../http/prom';

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

const REASONS: readonly SamplingReason[] = ['error', 'slow', 'route_latency', 'priority', 'base_rate', 'sampled_out'];

/** Decision counts by reason, of each instance sharing a decisions counter (kept after it closes: a counter never goes down). */
const decisionSources = new WeakMap<Counter, Set<Readonly<Record<SamplingReason, number>>>>();

/**
 * `llmscope_sampling_traces_total`, read at scrape time from the samplers' own exact counts: a
 * decision (one per trace, most of them `sampled_out`) costs no metric update (an in-place
 * increment still read prom-client's series table, ~0.2 µs a trace under HTTP load).
 */
function decisionsCounter(registry: Registry, counts: Readonly<Record<SamplingReason, number>>): void {
  const c = getOrCreate(Counter, registry, {
    name: 'llmscope_sampling_traces_total',
    help: 'Traces decided by the tail sampler: decision kept (reason error, slow, route_latency, priority, base_rate) or dropped (reason sampled_out).',
    labelNames: ['decision', 'reason'],
    collect(this: Counter<'decision' | 'reason'>) {
      const sources = decisionSources.get(this);
      if (sources === undefined) return;
      this.reset();
      for (const reason of REASONS) {
        let total = 0;
        for (const s of sources) total += s[reason];
        this.inc({ decision: reason === 'sampled_out' ? 'dropped' : 'kept', reason }, total);
      }
    },
  }) as Counter;
  let sources = decisionSources.get(c);
  if (sources === undefined) decisionSources.set(c, (sources = new Set()));
  sources.add(counts);
}

/**
 * The tail sampler's Prometheus side: decisions (read at scrape time from `decisions`), early
 * evictions, spans it had to drop (in the shared
 * `llmscope_telemetry_dropped_total{exporter="tail_sampler"}`), and the buffer's size.
 */
export class SamplingMetrics {
  private readonly evictions = new Map<EvictionReason, Counter.Internal>();
  private readonly dropped: Counter.Internal | undefined;
  private readonly detach: (() => void) | undefined;

  constructor(registry: Registry | undefined, buffer: BufferGauges, decisions: Readonly<Record<SamplingReason, number>>) {
    if (registry === undefined) return;
    decisionsCounter(registry, decisions);
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
