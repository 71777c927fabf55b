/**
 * The bench's alternating slices (src/interleave.ts): the order servers are loaded in, and how a
 * server's slices and CPU time make its reading.
 */
import { combineSlices, sliceOrder } from '../src/interleave';
import type { LoadResult } from '../src/measure';

test('each pass loads every server once, starting one further each pass, every other pass backwards', () => {
  expect(sliceOrder(3, 4)).toEqual([0, 1, 2, 0, 2, 1, 2, 0, 1, 2, 1, 0]);
  // No server always follows the same one: within the passes, 0 follows 2 and 1.
  const order = sliceOrder(3, 4);
  const before0 = new Set(order.flatMap((s, i) => (s === 0 && i > 0 ? [order[i - 1]] : [])));
  expect(before0).toEqual(new Set([2, 1]));
  expect(sliceOrder(0, 3)).toEqual([]);
});

test('a reading is CPU over all the slices\' requests, req/s over the time loaded, latencies the slices\' median', () => {
  const slice = (requests: number, seconds: number, p50: number, p99: number, errors = 0): LoadResult => ({ requests, rps: requests / seconds, p50, p99, errors });
  const m = combineSlices({
    slices: [slice(40000, 1, 0.2, 0.5), slice(30000, 1, 0.3, 0.9, 2), slice(50000, 1, 0.19, 0.45)],
    seconds: [1, 1, 1],
    // 2.4 s of CPU over 120,000 requests: 20 µs a request.
    user: 1_800_000,
    inSlice: 2_000_000,
    system: 600_000,
  });
  expect(m.cpuMicros).toBeCloseTo(20, 10);
  expect(m.userMicros).toBeCloseTo(15, 10);
  expect(m.systemMicros).toBeCloseTo(5, 10);
  expect(m.rps).toBeCloseTo(40000, 6);
  expect(m.p50).toBe(0.2);
  expect(m.p99).toBe(0.5);
  expect(m.errors).toBe(2);
});

test('a server that answered nothing reads its CPU over one request, not a division by zero', () => {
  const m = combineSlices({ slices: [{ requests: 0, rps: 0, p50: 0, p99: 0, errors: 10 }], seconds: [1], user: 500, system: 0, inSlice: 400 });
  expect(m.cpuMicros).toBe(500);
  expect(Number.isFinite(m.rps)).toBe(true);
});
