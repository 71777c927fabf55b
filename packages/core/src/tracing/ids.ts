import { randomFillSync } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * Random bytes drawn at a time: ~2,700 root spans' ids. `randomFillSync` costs ~5 µs a call plus
 * ~0.15 ns a byte here, so the call is what a small pool pays: 4 KB cost ~40 ns a root's ids,
 * 64 KB ~6 (one call every ~2,700 requests; a loop of fills by size, 2026-12-01).
 */
const POOL_BYTES = 65536;
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

/** Whether `id` is the all-zero id `zero` (a first-character test settles 15 in 16 ids without comparing the rest). */
function isZero(id: string, zero: string): boolean {
  return id.charCodeAt(0) === 48 && id === zero;
}

/**
 * Bytes converted to hex at a time (a multiple of 8: every id is 8, 16 or 24 bytes). An id is a
 * slice of its chunk's text and keeps that text alive (768 characters, where its own is 16 or
 * 32): what an exemplar or any other kept id costs is bounded by that. One conversion per chunk
 * where one per id cost ~75 ns a request more (`bench/src/micro-ids.ts`).
 */
const CHUNK_BYTES = 384;

/**
 * Random trace and span ids (W3C: 32 and 16 lowercase hex characters, never all zero) from a
 * pool of random bytes: one `randomFillSync` per 64 KB, one hex conversion per 384 bytes, and a
 * slice of that text per id, where OpenTelemetry's `RandomIdGenerator` makes two or four
 * `Math.random` calls and buffer writes per id and a conversion per id as well
 * (`bench/src/micro-ids.ts`). Every request takes a trace id and a span id, so this is on the
 * hot path.
 */
export class PooledIdGenerator implements IdGenerator {
  private readonly bytes = Buffer.allocUnsafe(POOL_BYTES);
  /** Where the next chunk starts in {@link bytes}. */
  private offset = POOL_BYTES;
  /** The current chunk as hex, and where the next id starts in it. */
  private hex = '';
  private position = 0;

  /** @param fill - fills the pool with random bytes (tests pass their own). */
  constructor(private readonly fill: (bytes: Buffer) => void = randomFillSync) {}

  generateTraceId(): string {
    return this.draw(32, ZERO_TRACE_ID);
  }

  generateSpanId(): string {
    return this.draw(16, ZERO_SPAN_ID);
  }

  /** An id of `chars` hex characters that is not `zero` (the all-zero id is invalid in W3C trace context). */
  private draw(chars: number, zero: string): string {
    for (;;) {
      const at = this.reserve(chars);
      const id = this.hex.slice(at, at + chars);
      if (!isZero(id, zero)) return id;
    }
  }

  /** The span id drawn with the trace id {@link generateRootIds} returned last. */
  rootSpanId = ZERO_SPAN_ID;

  /** A new trace's ids: returns the trace id and leaves its span id in {@link rootSpanId}. */
  generateRootIds(): string {
    for (;;) {
      const at = this.reserve(48);
      const traceId = this.hex.slice(at, at + 32);
      const spanId = this.hex.slice(at + 32, at + 48);
      if (!isZero(traceId, ZERO_TRACE_ID) && !isZero(spanId, ZERO_SPAN_ID)) {
        this.rootSpanId = spanId;
        return traceId;
      }
    }
  }

  /** Where `chars` fresh hex characters start in {@link hex} (a new chunk when this one is used up). */
  private reserve(chars: number): number {
    const at = this.position;
    if (at + chars <= this.hex.length) {
      this.position = at + chars;
      return at;
    }
    let offset = this.offset;
    if (offset + CHUNK_BYTES > POOL_BYTES) {
      this.fill(this.bytes);
      offset = 0;
    }
    this.offset = offset + CHUNK_BYTES;
    const end = offset + CHUNK_BYTES;
    this.hex = HEX_SLICE !== undefined ? HEX_SLICE.call(this.bytes, offset, end) : this.bytes.toString('hex', offset, end);
    this.position = chars;
    return 0;
  }
}
