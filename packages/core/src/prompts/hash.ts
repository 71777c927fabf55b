/**
 * FNV-1a, 32 bits, over the string's UTF-16 code units: the hash GrowthBook buckets users with.
 * Pure arithmetic, so every process, replica and restart computes the same value.
 */
export function fnv1a32(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Bucket resolution: assignments move in steps of 0.01%. */
const BUCKETS = 10_000;

/**
 * The bucket of `unit` (a user, session or trace id) in [0, 1), salted: GrowthBook's v2 hashing,
 * `fnv1a32(String(fnv1a32(salt + unit))) % 10000 / 10000`. Hashing twice spreads FNV-1a's weak
 * low bits; the salt keeps two experiments from assigning the same users together.
 */
export function bucketOf(salt: string, unit: string): number {
  return (fnv1a32(String(fnv1a32(salt + unit))) % BUCKETS) / BUCKETS;
}
