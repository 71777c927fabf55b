import { randomFillSync } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * Random bytes drawn at a time: 256 trace ids. `randomFillSync` costs a few µs a call whatever
 * its size, so a smaller pool pays it too often (512 bytes: no faster than Math.random).
 */
const POOL_BYTES = 4096;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * Node's own hex conversion of a buffer's bytes (`buf.toString('hex', start, end)` ends there
 * after checking its arguments and looking the encoding up: ~45 ns a call more in
 * `bench/src/micro-ids.ts`). Present in Node 20 to 24 but not documented: when it is missing,
 * `toString` is used.
 */
type HexSlice = (this: Buffer, start: number, end: number) => string;
const hexSlice = (Buffer.prototype as Buffer & { hexSlice?: unknown }).hexSlice;
const HEX_SLICE: HexSlice | undefined = typeof hexSlice === 'function' ? (hexSlice as HexSlice) : undefined;

/**
 * Random trace and span ids (W3C: 32 and 16 lowercase hex characters, never all zero) from a
 * pool of random bytes: one `randomFillSync` per 256 trace ids and one hex conversion per id,
 * where OpenTelemetry's `RandomIdGenerator` makes two or four `Math.random` calls and buffer
 * writes per id as well (`bench/src/micro-ids.ts`: ~175 ns a trace + span id pair against ~235).
 * Every request takes a trace id and a span id, so this is on the hot path.
 *
 * Each id is its own string: cutting ids out of one long hex string would be cheaper still
 * (~60 ns a pair) but every id kept (an exemplar, the recent-trace index) would keep its
 * pool's whole text alive.
 */
export class PooledIdGenerator implements IdGenerator {
  private readonly bytes = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;

  /** @param fill - fills the pool with random bytes (tests pass their own). */
  constructor(private readonly fill: (bytes: Buffer) => void = randomFillSync) {}

  generateTraceId(): string {
    const id = this.take(16);
    return id === ZERO_TRACE_ID ? this.generateTraceId() : id;
  }

  generateSpanId(): string {
    const id = this.take(8);
    return id === ZERO_SPAN_ID ? this.generateSpanId() : id;
  }

  /** The span id drawn with the trace id {@link generateRootIds} returned last. */
  rootSpanId = ZERO_SPAN_ID;

  /**
   * A new trace's ids: returns the trace id and leaves its span id in {@link rootSpanId}. Both are
   * cut from one 48-character hex string (one conversion where two cost ~60 ns more a pair), which
   * only they keep alive.
   */
  generateRootIds(): string {
    const both = this.take(24);
    const traceId = both.slice(0, 32);
    const spanId = both.slice(32);
    if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return this.generateRootIds();
    this.rootSpanId = spanId;
    return traceId;
  }

  private take(bytes: number): string {
    let offset = this.offset;
    if (offset + bytes > POOL_BYTES) {
      this.fill(this.bytes);
      offset = 0;
    }
    this.offset = offset + bytes;
    return HEX_SLICE !== undefined ? HEX_SLICE.call(this.bytes, offset, offset + bytes) : this.bytes.toString('hex', offset, offset + bytes);
  }
}
