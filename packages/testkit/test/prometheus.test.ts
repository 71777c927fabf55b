import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { find, parseMetrics, parsePrometheusText, PrometheusParseError } from '../src';

describe('parsePrometheusText', () => {
  test('reads what prom-client writes: families, types, help, labels with escapes, histograms, summaries', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'jobs_total', help: 'Jobs done.\nSecond line with a \\ backslash', labelNames: ['queue', 'path'], registers: [registry] });
    c.inc({ queue: 'a', path: 'C:\\dir\\"file"\nnext' }, 3);
    c.inc({ queue: 'b', path: '/' });
    new Gauge({ name: 'in_flight', help: 'In flight', registers: [registry] }).set(-2.5);
    const h = new Histogram({ name: 'latency_seconds', help: 'Latency', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] });
    h.observe({ route: '/a' }, 0.05);
    h.observe({ route: '/a' }, 0.5);
    h.observe({ route: '/a' }, 5);
    h.observe({ route: '/b' }, 0.2);
    const s = new Summary({ name: 'size_bytes', help: 'Sizes', percentiles: [0.5, 0.9], registers: [registry] });
    for (const v of [1, 2, 3, 4]) s.observe(v);

    const families = parsePrometheusText(await registry.metrics());
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['jobs_total', 'counter'], ['in_flight', 'gauge'], ['latency_seconds', 'histogram'], ['size_bytes', 'summary'],
    ]);
    expect(families[0]?.help).toBe('Jobs done.\nSecond line with a \\ backslash');
    expect(families[0]?.samples).toEqual([
      { name: 'jobs_total', labels: { queue: 'a', path: 'C:\\dir\\"file"\nnext' }, value: 3 },
      { name: 'jobs_total', labels: { queue: 'b', path: '/' }, value: 1 },
    ]);
    const samples = families.flatMap((f) => f.samples);
    expect(find(samples, 'in_flight')[0]?.value).toBe(-2.5);
    expect(find(samples, 'latency_seconds_bucket', { route: '/a' }).map((x) => [x.labels.le, x.value])).toEqual([['0.1', 1], ['1', 2], ['+Inf', 3]]);
    expect(find(samples, 'latency_seconds_count', { route: '/a' })[0]?.value).toBe(3);
    expect(find(samples, 'latency_seconds_sum', { route: '/a' })[0]?.value).toBe(5.55);
    expect(find(samples, 'latency_seconds_count', { route: '/b' })[0]?.value).toBe(1);
    expect(find(samples, 'size_bytes', { quantile: '0.5' })[0]?.value).toBe(2.5);
    expect(find(samples, 'size_bytes_count')[0]?.value).toBe(4);
  });

  test('reads Node default metrics (NaN written as "Nan" included)', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const samples = parseMetrics(await registry.metrics());
    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(find(samples, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
  });

  test('reads the format\'s own example: comments, timestamps, NaN and ±Inf, blank lines, trailing commas', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# Escaping in label values:',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'not_a_number NaN',
      'minus_inf{a="b",} -Inf',
      '',
    ].join('\n');
    const families = parsePrometheusText(text);
    expect(families.map((f) => `${f.name} ${f.type}`)).toEqual([
      'http_requests_total counter', 'msdos_file_access_time_seconds untyped', 'metric_without_timestamp_and_labels untyped',
      'something_weird untyped', 'not_a_number untyped', 'minus_inf untyped',
    ]);
    const samples = parseMetrics(text);
    expect(samples[0]).toEqual({ name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000 });
    expect(samples[1]?.value).toBe(3);
    expect(samples[2]?.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(samples[2]?.value).toBe(1458255915);
    expect(samples[4]).toEqual({ name: 'something_weird', labels: { problem: 'division by zero' }, value: Infinity, timestampMs: -3982045 });
    expect(samples[5]?.value).toBeNaN();
    expect(samples[6]).toEqual({ name: 'minus_inf', labels: { a: 'b' }, value: -Infinity });
    expect(parseMetrics('')).toEqual([]);
  });

  test.each([
    ['a metric name starting with a digit', '1abc 1\n', /expected a metric name/],
    ['a label name with a dash', 'x{a-b="1"} 1\n', /expected "," or "}"|expected "="/],
    ['a reserved label name', 'x{__name__="y"} 1\n', /reserved/],
    ['an unquoted label value', 'x{a=1} 1\n', /expected '"'/],
    ['an unterminated label value', 'x{a="1} 1\n', /unterminated/],
    ['an unknown escape', 'x{a="\\t"} 1\n', /invalid escape/],
    ['a label named twice', 'x{a="1",a="2"} 1\n', /appears twice/],
    ['no value', 'x{a="1"}\n', /invalid value|expected a blank/],
    ['a value that is not a number', 'x 1.2.3\n', /invalid value "1.2.3"/],
    ['a value glued to the name', 'x{a="1"}1\n', /expected a blank/],
    ['a bad timestamp', 'x 1 12.5\n', /invalid timestamp/],
    ['text after the timestamp', 'x 1 12 13\n', /after the timestamp/],
    ['no final line feed', 'x 1', /line feed/],
    ['an unknown type', '# TYPE x countr\nx 1\n', /unknown metric type "countr"/],
    ['a second TYPE', '# TYPE x counter\n# TYPE x gauge\nx 1\n', /second TYPE/],
    ['a second HELP', '# HELP x a\n# HELP x b\nx 1\n', /second HELP/],
    ['a TYPE after the samples', 'x 1\n# TYPE x counter\n', /after its samples/],
    ['a family split in two', 'x{a="1"} 1\ny 1\nx{a="2"} 1\n', /not together/],
    ['a duplicate series', 'x{a="1",b="2"} 1\nx{b="2",a="1"} 2\n', /duplicate series/],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 1\n', /no le="\+Inf"/],
    ['a histogram that is not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n', /not cumulative/],
    ['a histogram _count unlike +Inf', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n', /differs/],
    ['a bucket without le', '# TYPE h histogram\nh_bucket 2\n', /valid "le"/],
    ['a summary quantile out of range', '# TYPE s summary\ns{quantile="2"} 1\n', /quantile/],
  ])('rejects %s, naming the line', (_what, text, message) => {
    let error: unknown;
    try {
      parsePrometheusText(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PrometheusParseError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^Prometheus text, line \d+: /);
  });
});

describe('find', () => {
  test('matches the name exactly and every given label', () => {
    const samples = parseMetrics('a{x="1",y="2"} 1\na{x="1",y="3"} 2\nab{x="1"} 3\n');
    expect(find(samples, 'a').map((s) => s.value)).toEqual([1, 2]);
    expect(find(samples, 'a', { x: '1', y: '3' }).map((s) => s.value)).toEqual([2]);
    expect(find(samples, 'a', { z: '1' })).toEqual([]);
  });
});
