import { LlmscopeConfigError } from './errors';

/**
 * The one option-validation kit of llmscope: every options module checks its input with these
 * functions, so every bad option is reported the same way, as an {@link LlmscopeConfigError}:
 *
 *     llmscope: option `sampling.tail.maxTraces` must be a positive integer, got -3.
 *     llmscope: unknown option `sampling.tail.maxTrace`. Did you mean `sampling.tail.maxTraces`? Known options: ...
 *     llmscope: environment variable `OTEL_EXPORTER_OTLP_ENDPOINT` must be an http(s) URL such as ..., got "collector".
 *
 * That is: where the value came from (the full option path, or the environment variable), what
 * is expected (with an example where it helps), what was received (secrets only by length).
 *
 * Each validator takes the place of the value (`at`) and the value, returns the value typed, and
 * returns `undefined` for `undefined` (an option not given), so defaults read `validator(...) ?? 1000`.
 */

/** An environment variable as the source of a value. */
export interface EnvVar {
  readonly env: string;
}

/** Where a value came from: an option path such as `sampling.tail.maxTraces` (`''` is the options object itself), or an environment variable. */
export type At = string | EnvVar;

/** The environment variable `name` as the source of a value. */
export function envVar(name: string): EnvVar {
  return { env: name };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Path of a field of the object at `at`: `sampling.tail` + `maxTraces`, or `redact` + `my key` → `redact["my key"]`. */
export function field(at: string, key: string): string {
  if (!IDENTIFIER.test(key)) return entry(at, key);
  return at === '' ? key : `${at}.${key}`;
}

/** Path of an entry of a map keyed by the user (a model id, a tag key): `llm.prices["my-model"]`. */
export function entry(at: string, key: string): string {
  return `${at}[${JSON.stringify(key)}]`;
}

function label(at: At): string {
  if (typeof at !== 'string') return `environment variable \`${at.env}\``;
  return at === '' ? 'options' : `option \`${at}\``;
}

/** A short description of a received value, for "got ...". Secrets are described by their length only. */
export function describe(value: unknown, secret = false): string {
  if (typeof value === 'string') {
    if (value.length === 0) return 'an empty string';
    return secret ? `a string of ${value.length} characters` : clip(JSON.stringify(value));
  }
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return 'an empty array';
    const primitives = value.every((x) => x === null || (typeof x !== 'object' && typeof x !== 'function'));
    return primitives && !secret ? clip(`[${value.map((x) => describe(x)).join(', ')}]`) : `an array of ${value.length}`;
  }
  if (value instanceof RegExp) return String(value);
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name === undefined || name === 'Object' || name === '' ? 'an object' : `a ${name}`;
}

function clip(text: string): string {
  return text.length <= 60 ? text : `${text.slice(0, 57)}...`;
}

/** Throws an {@link LlmscopeConfigError} with a message of one's own (a rule spanning several options or sources). */
export function configError(message: string): never {
  throw new LlmscopeConfigError(message);
}

/** Throws `<option> must be <expected>, got <received>.` */
export function invalid(at: At, expected: string, received: unknown, secret = false): never {
  configError(`${label(at)} must be ${expected}, got ${describe(received, secret)}.`);
}

/** Throws `<option> is required: <expected>.` */
export function required(at: At, expected: string): never {
  configError(`${label(at)} is required: ${expected}.`);
}

/**
 * Distance between two strings: insertions, deletions, substitutions and swaps of two neighbours
 * each cost 1 (optimal string alignment), case ignored.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let before: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[t.length] as number;
}

/** The known name closest to `name`, if close enough to be a likely typo (about one edit in three letters). */
export function closest(name: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Rejects keys of `value` not in `known`, suggesting the closest known one. */
export function knownKeys(at: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    configError(`unknown option \`${field(at, key)}\`.${near === undefined ? '' : ` Did you mean \`${field(at, near)}\`?`} Known options: ${known.join(', ')}.`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A plain object (not null, not an array) whose keys the caller interprets (a map of model prices, of tags). */
export function record(at: At, value: unknown, expected = 'an object'): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) invalid(at, expected, value);
  return value;
}

/** A plain object with only the `keys` given (an unknown key is rejected with a suggestion). */
export function object<K extends string>(at: string, value: unknown, keys: readonly K[], expected = 'an object'): { [P in K]?: unknown } | undefined {
  const o = record(at, value, expected);
  if (o !== undefined) knownKeys(at, o, keys);
  return o as { [P in K]?: unknown } | undefined;
}

/**
 * A part of the options that `false` turns off: `false` gives `undefined`, an option not given
 * gives `{}` (the part on, with its defaults), else an object with only the `keys` given.
 */
export function section<K extends string>(at: string, value: unknown, keys: readonly K[], expected = 'an object or false'): { [P in K]?: unknown } | undefined {
  if (value === false) return undefined;
  return object(at, value, keys, expected) ?? {};
}

/** A value that passes `test`; `expected` says what it should be. */
export function check<T>(at: At, value: unknown, test: (value: unknown) => value is T, expected: string): T | undefined {
  if (value === undefined) return undefined;
  if (!test(value)) invalid(at, expected, value);
  return value;
}

/** Any string, the empty one included. */
export function string(at: At, value: unknown, expected = 'a string'): string | undefined {
  return check(at, value, (v): v is string => typeof v === 'string', expected);
}

/** A non-empty string. `secret` reports a wrong value by its length only. */
export function nonEmptyString(at: At, value: unknown, options: { expected?: string; secret?: boolean } = {}): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) invalid(at, options.expected ?? 'a non-empty string', value, options.secret);
  return value;
}

/** `true` or `false`. */
export function boolean(at: At, value: unknown): boolean | undefined {
  return check(at, value, (v): v is boolean => typeof v === 'boolean', 'true or false');
}

/** An integer >= 1. */
export function positiveInt(at: At, value: unknown, expected = 'a positive integer'): number | undefined {
  return check(at, value, (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1, expected);
}

/** A finite number > 0. */
export function positiveNumber(at: At, value: unknown, expected = 'a positive number'): number | undefined {
  return check(at, value, (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0, expected);
}

/** A finite number >= 0. */
export function nonNegativeNumber(at: At, value: unknown, expected = 'a finite number >= 0'): number | undefined {
  return check(at, value, (v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0, expected);
}

/** A number from `min` to `max`, both included. */
export function numberInRange(at: At, value: unknown, min: number, max: number, expected = `a number between ${min} and ${max}`): number | undefined {
  return check(at, value, (v): v is number => typeof v === 'number' && v >= min && v <= max, expected);
}

/** A fraction from 0 to 1. */
export function ratio(at: At, value: unknown): number | undefined {
  return numberInRange(at, value, 0, 1, 'a number between 0 and 1, such as 0.05 for 5%');
}

/** One of the strings `values`; a near miss is suggested. */
export function oneOf<T extends string>(at: At, value: unknown, values: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
  const near = typeof value === 'string' ? closest(value, values) : undefined;
  invalid(at, `one of ${values.join(', ')}${near === undefined ? '' : ` (did you mean ${near}?)`}`, value);
}

/** An array whose items each pass `item.test`; a wrong item is reported at its index (`patterns[1]`). */
export function arrayOf<T>(at: string, value: unknown, item: { test: (value: unknown) => value is T; expected: string }, expected = 'an array'): T[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) invalid(at, expected, value);
  value.forEach((x: unknown, i) => {
    if (!item.test(x)) invalid(`${at}[${i}]`, item.expected, x);
  });
  return value as T[];
}

/** Histogram buckets: a non-empty array of positive numbers in increasing order. */
export function buckets(at: string, value: unknown): number[] | undefined {
  const expected = 'a non-empty array of positive numbers in increasing order (seconds)';
  return check(at, value, (b): b is number[] => Array.isArray(b) && b.length > 0 && b.every((x: unknown, i) => typeof x === 'number' && x > 0 && Number.isFinite(x) && (i === 0 || x > (b[i - 1] as number))), expected);
}

/** A function; `signature` shows its shape, e.g. `(span) => boolean`. The function's type is the caller's to state. */
export function func<F extends (...args: never[]) => unknown>(at: At, value: unknown, signature: string): F | undefined {
  return check(at, value, (v): v is F => typeof v === 'function', `a function ${signature}`);
}

/** An absolute http: or https: URL; `example` is shown in the message. */
export function httpUrl(at: At, value: unknown, example: string): string | undefined {
  return check(at, value, (v): v is string => {
    if (typeof v !== 'string') return false;
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, `an http(s) URL such as ${example}`);
}

/** The first of several sources (an option, then environment variables, ...) whose value is set, with where it came from. */
export function firstSet<T>(...sources: readonly (readonly [At, T | undefined])[]): { at: At; value: T } | undefined {
  for (const [at, value] of sources) if (value !== undefined) return { at, value };
  return undefined;
}
