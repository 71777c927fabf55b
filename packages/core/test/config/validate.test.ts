import { LlmscopeConfigError } from '../../src/config/errors';
import {
  arrayOf, boolean, buckets, check, closest, configError, describe as show, editDistance, entry, envVar, field, firstSet, func,
  httpUrl, invalid, knownKeys, nonEmptyString, nonNegativeNumber, numberInRange, object, oneOf, positiveInt, positiveNumber,
  ratio, record, required, string,
} from '../../src/config/validate';

/** The message of the LlmscopeConfigError `run` throws. */
function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LlmscopeConfigError);
    return (error as Error).message;
  }
  throw new Error('no error thrown');
}

describe('validate kit: one message shape', () => {
  test.each<[string, () => unknown, string]>([
    ['object', () => object('sampling.tail', 5, ['maxTraces']), 'llmscope: option `sampling.tail` must be an object, got 5.'],
    ['object (array)', () => object('llm', [1], ['prices'], 'an object or false'), 'llmscope: option `llm` must be an object or false, got [1].'],
    ['record', () => record('llm.prices', null), 'llmscope: option `llm.prices` must be an object, got null.'],
    ['known keys', () => object('tracing', { printtraces: true }, ['spanProcessors', 'printTraces']), 'llmscope: unknown option `tracing.printtraces`. Did you mean `tracing.printTraces`? Known options: spanProcessors, printTraces.'],
    ['known keys, top level', () => knownKeys('', { metrcs: {} }, ['metrics', 'tracing']), 'llmscope: unknown option `metrcs`. Did you mean `metrics`? Known options: metrics, tracing.'],
    ['known keys, odd key', () => knownKeys('redact', { 'my key': 1 }, ['patterns']), 'llmscope: unknown option `redact["my key"]`. Known options: patterns.'],
    ['string', () => string('redact.replacement', 1), 'llmscope: option `redact.replacement` must be a string, got 1.'],
    ['non-empty string', () => nonEmptyString('serviceName', ''), 'llmscope: option `serviceName` must be a non-empty string, got an empty string.'],
    ['secret string', () => nonEmptyString('exporters.langfuse.secretKey', ['sk-lf-1'], { secret: true }), 'llmscope: option `exporters.langfuse.secretKey` must be a non-empty string, got an array of 1.'],
    ['boolean', () => boolean('llm.captureContent', 'yes'), 'llmscope: option `llm.captureContent` must be true or false, got "yes".'],
    ['positive integer', () => positiveInt('sampling.tail.maxTraces', -3), 'llmscope: option `sampling.tail.maxTraces` must be a positive integer, got -3.'],
    ['positive integer (fraction)', () => positiveInt('maxTags', 1.5), 'llmscope: option `maxTags` must be a positive integer, got 1.5.'],
    ['positive number', () => positiveNumber('sampling.tail.slowMs', 0), 'llmscope: option `sampling.tail.slowMs` must be a positive number, got 0.'],
    ['non-negative number', () => nonNegativeNumber('llm.prices["m"].inputPerMTok', Infinity), 'llmscope: option `llm.prices["m"].inputPerMTok` must be a finite number >= 0, got Infinity.'],
    ['number in range', () => numberInRange('sampling.tail.routeLatency.percentile', 1, 0.5, 0.999), 'llmscope: option `sampling.tail.routeLatency.percentile` must be a number between 0.5 and 0.999, got 1.'],
    ['ratio', () => ratio('sampling.head.ratio', NaN), 'llmscope: option `sampling.head.ratio` must be a number between 0 and 1, such as 0.05 for 5%, got NaN.'],
    ['enum', () => oneOf('logging.level', 'wran', ['error', 'warn', 'info']), 'llmscope: option `logging.level` must be one of error, warn, info (did you mean warn?), got "wran".'],
    ['enum, not a string', () => oneOf('logging.level', 3, ['error', 'warn']), 'llmscope: option `logging.level` must be one of error, warn, got 3.'],
    ['array', () => arrayOf('shutdownOnSignal', 'SIGINT', { test: (v): v is string => typeof v === 'string', expected: 'a signal name' }), 'llmscope: option `shutdownOnSignal` must be an array, got "SIGINT".'],
    ['array item', () => arrayOf('redact.patterns', [/a/, 'b'], { test: (v): v is RegExp => v instanceof RegExp, expected: 'a regular expression' }), 'llmscope: option `redact.patterns[1]` must be a regular expression, got "b".'],
    ['buckets', () => buckets('metrics.httpDurationBuckets', [0.1, 0.1]), 'llmscope: option `metrics.httpDurationBuckets` must be a non-empty array of positive numbers in increasing order (seconds), got [0.1, 0.1].'],
    ['function', () => func('identify', {}, '(request) => ({ userId })'), 'llmscope: option `identify` must be a function (request) => ({ userId }), got an object.'],
    ['URL', () => httpUrl('exporters.otlp.url', 'localhost:4318', '"http://localhost:4318/v1/traces"'), 'llmscope: option `exporters.otlp.url` must be an http(s) URL such as "http://localhost:4318/v1/traces", got "localhost:4318".'],
    ['URL from the environment', () => httpUrl(envVar('OTEL_EXPORTER_OTLP_ENDPOINT'), 'ftp://c', '"http://localhost:4318"'), 'llmscope: environment variable `OTEL_EXPORTER_OTLP_ENDPOINT` must be an http(s) URL such as "http://localhost:4318", got "ftp://c".'],
    ['custom check', () => check('metrics.registry', new Map(), (v): v is Set<string> => v instanceof Set, 'a Set'), 'llmscope: option `metrics.registry` must be a Set, got a Map.'],
    ['options object', () => object('', 'x', ['metrics']), 'llmscope: options must be an object, got "x".'],
    ['cross-field rule', () => invalid('exporters.queue.maxBatchSize', 'at most `exporters.queue.maxQueueSize` (10)', 20), 'llmscope: option `exporters.queue.maxBatchSize` must be at most `exporters.queue.maxQueueSize` (10), got 20.'],
    ['secret received value', () => invalid(envVar('SENTRY_DSN'), 'a DSN', 'abc', true), 'llmscope: environment variable `SENTRY_DSN` must be a DSN, got a string of 3 characters.'],
    ['required', () => required('llm.prices["m"].outputPerMTok', 'a price such as 0.5'), 'llmscope: option `llm.prices["m"].outputPerMTok` is required: a price such as 0.5.'],
    ['free message', () => configError('the OTLP exporter needs a URL.'), 'llmscope: the OTLP exporter needs a URL.'],
  ])('%s', (_, run, expected) => {
    expect(message(run)).toBe(expected);
  });

  test('validators return the value, and undefined for an option not given', () => {
    expect(object('a', { x: 1 }, ['x'])).toEqual({ x: 1 });
    expect(positiveInt('a', 3)).toBe(3);
    expect(positiveInt('a', undefined) ?? 7).toBe(7);
    expect(ratio('a', 0)).toBe(0);
    expect(ratio('a', 1)).toBe(1);
    expect(nonNegativeNumber('a', 0)).toBe(0);
    expect(string('a', '')).toBe('');
    expect(boolean('a', false)).toBe(false);
    expect(oneOf('a', 'info', ['info', 'warn'])).toBe('info');
    expect(arrayOf('a', [], { test: (v): v is number => typeof v === 'number', expected: 'a number' })).toEqual([]);
    expect(buckets('a', [0.1, 1])).toEqual([0.1, 1]);
    expect(httpUrl('a', 'https://x.example/p', '"https://x"')).toBe('https://x.example/p');
    for (const validator of [object, record, string, nonEmptyString, boolean, positiveInt, positiveNumber, nonNegativeNumber, ratio, buckets] as ((at: string, value: unknown, ...rest: never[]) => unknown)[]) {
      expect(validator('a', undefined)).toBeUndefined();
    }
  });

  test('paths, sources and received values', () => {
    expect(field('', 'metrics')).toBe('metrics');
    expect(field('sampling.tail', 'maxTraces')).toBe('sampling.tail.maxTraces');
    expect(field('tags', 'tier-1')).toBe('tags["tier-1"]');
    expect(entry('llm.prices', 'gpt')).toBe('llm.prices["gpt"]');
    expect(firstSet(['a.b', undefined], [envVar('X'), 'x'], [envVar('Y'), 'y'])).toEqual({ at: { env: 'X' }, value: 'x' });
    expect(firstSet(['a.b', undefined])).toBeUndefined();
    expect(show('x'.repeat(100))).toBe(`"${'x'.repeat(56)}...`);
    expect(show(() => 1)).toBe('a function');
    expect(show(/a/g)).toBe('/a/g');
    expect(show(Object.create(null))).toBe('an object');
    expect(show([{}])).toBe('an array of 1');
    expect(show(['k'], true)).toBe('an array of 1');
  });

  test('did you mean: Damerau distance, case ignored, only near misses', () => {
    expect(editDistance('metrics', 'metrics')).toBe(0);
    expect(editDistance('metrcs', 'metrics')).toBe(1);
    expect(editDistance('captureContnet', 'captureContent')).toBe(1);
    expect(editDistance('printtraces', 'printTraces')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closest('maxTrace', ['maxTraces', 'maxAgeMs'])).toBe('maxTraces');
    expect(closest('slowms', ['slowMs', 'baseRate'])).toBe('slowMs');
    expect(closest('tarcing', ['tracing', 'metrics'])).toBe('tracing');
    expect(closest('ab', ['llm'])).toBeUndefined();
    expect(closest('colour', ['serviceName', 'metrics', 'llm'])).toBeUndefined();
  });
});
