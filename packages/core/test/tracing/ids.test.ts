/**
 * The pooled id generator: W3C ids (lowercase hex of the right length, never all zero), unique,
 * evenly spread, across pool refills.
 */
import { randomFillSync } from 'node:crypto';
import { PooledIdGenerator } from '../../src/tracing/ids';

describe('PooledIdGenerator', () => {
  it('gives 32- and 16-character lowercase hex ids, all distinct, over many pool refills', () => {
    const ids = new PooledIdGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const traceId = ids.generateTraceId();
      const spanId = ids.generateSpanId();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      seen.add(traceId);
      seen.add(spanId);
    }
    expect(seen.size).toBe(10000);
  });

  it('spreads the digits evenly (every hex digit at every position of a trace id)', () => {
    const ids = new PooledIdGenerator();
    const n = 16000;
    const counts = Array.from({ length: 32 }, () => new Array<number>(16).fill(0));
    for (let i = 0; i < n; i++) {
      const id = ids.generateTraceId();
      for (let p = 0; p < 32; p++) (counts[p] as number[])[parseInt(id[p] as string, 16)]++;
    }
    // Expected 1000 of each digit at each position; a uniform source stays within ±25%.
    for (const row of counts) for (const c of row) expect(Math.abs(c - n / 16)).toBeLessThan(250);
  });

  it('never gives an all-zero id (invalid in W3C trace context), even from zero random bytes', () => {
    let fills = 0;
    // The first pool is all zeros: every id taken from it would be invalid, so all are skipped.
    const zeroFirst = (bytes: Buffer): void => {
      if (fills++ === 0) bytes.fill(0);
      else randomFillSync(bytes);
    };
    const ids = new PooledIdGenerator(zeroFirst);
    const traceId = ids.generateTraceId();
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe('0'.repeat(32));
    expect(fills).toBe(2);
    fills = 0;
    const spanId = new PooledIdGenerator(zeroFirst).generateSpanId();
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe('0'.repeat(16));
    expect(fills).toBe(2);
  });

  it('gives a root span its trace id and span id from one draw: W3C ids, distinct, between single ids', () => {
    const ids = new PooledIdGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const traceId = ids.generateRootIds();
      const spanId = ids.rootSpanId;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      seen.add(traceId);
      seen.add(spanId);
      // Children's span ids come from the same pool, after and between root draws.
      seen.add(ids.generateSpanId());
    }
    expect(seen.size).toBe(15000);
  });

  it('never gives a root an all-zero trace or span id, even from zero random bytes', () => {
    let fills = 0;
    const ids = new PooledIdGenerator((bytes) => {
      if (fills++ === 0) bytes.fill(0);
      else randomFillSync(bytes);
    });
    const traceId = ids.generateRootIds();
    expect(traceId).not.toBe('0'.repeat(32));
    expect(ids.rootSpanId).not.toBe('0'.repeat(16));
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.rootSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(fills).toBe(2);
  });
});
