/**
 * `--bare-twice` (src/bare-twice.ts): where a block's second bare reading goes and how the two
 * make the round's bare reading.
 */
import { bareTwiceOrder, combineReadings, foldBareTwice } from '../src/bare-twice';
import type { Measurement } from '../src/measure';

const reading = (cpuMicros: number, rps: number): Measurement => ({ rps, p50: 0.2, p99: 0.6, cpuMicros, userMicros: cpuMicros * 0.6, systemMicros: cpuMicros * 0.4, errors: 0 });

test('the second bare reading is half a block from the first, after it or before it', () => {
  // Bare first (round 1 of a block of 10): again after five others.
  expect(bareTwiceOrder(10, 0)).toEqual([0, 1, 2, 3, 4, 0, 5, 6, 7, 8, 9]);
  // Bare at place 7 (a later round's rotation): five places earlier.
  const late = bareTwiceOrder(10, 7);
  expect(late).toEqual([0, 1, 2, 7, 3, 4, 5, 6, 7, 8, 9]);
  expect(late.lastIndexOf(7) - late.indexOf(7)).toBe(5);
  // Bare last: the second reading five places before it.
  const last = bareTwiceOrder(10, 9);
  expect(last.lastIndexOf(9) - last.indexOf(9)).toBe(5);
  // Every configuration once, the bare one twice, for every rotation of an odd block too.
  for (let bare = 0; bare < 7; bare++) {
    const order = bareTwiceOrder(7, bare);
    expect(order).toHaveLength(8);
    expect(order.filter((i) => i === bare)).toHaveLength(2);
    expect(new Set(order).size).toBe(7);
    expect(order.lastIndexOf(bare) - order.indexOf(bare)).toBe(4);
  }
  expect(() => bareTwiceOrder(3, 3)).toThrow('bare index 3 is not in a block of 3');
});

test('the round\'s bare reading is CPU over both windows\' requests; the others are as read', () => {
  // 20 µs at 50,000 req/s and 25 µs at 40,000, one second each: 2.0 s of CPU over 90,000
  // requests, 22.2 µs a request (the plain mean, 22.5, would give the slower window more weight).
  const both = combineReadings(reading(20, 50000), reading(25, 40000));
  expect(both.cpuMicros).toBeCloseTo(200 / 9, 10);
  expect(both.userMicros).toBeCloseTo(both.cpuMicros * 0.6, 10);
  expect(both.userMicros).toBeCloseTo(120 / 9, 10);
  expect(both.systemMicros).toBeCloseTo(80 / 9, 10);
  expect(both.p99).toBeCloseTo(0.6, 10);
  expect(both.rps).toBe(45000);

  // Bare in the middle of three: again at the end, two places on.
  const order = bareTwiceOrder(3, 1);
  expect(order).toEqual([0, 1, 2, 1]);
  const folded = foldBareTwice(order, [reading(30, 1000), reading(20, 50000), reading(31, 900), reading(25, 40000)]);
  expect(folded.map((m) => m.cpuMicros)).toEqual([30, both.cpuMicros, 31]);
});
