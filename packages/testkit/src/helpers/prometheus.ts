/**
 * A parser of the Prometheus text exposition format (version 0.0.4), strict where the format is:
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 *
 * It reads the text character by character (no regex per line), groups samples into metric
 * families by their `# TYPE` line, and rejects what a Prometheus server would reject or what
 * shows a broken exporter: bad metric or label names, bad escapes, unparseable values or
 * timestamps, a second HELP or TYPE for a family, a TYPE after the family's samples, a family
 * whose samples are not together, a duplicate series, a label named twice, and histograms whose
 * buckets are not cumulative, lack `le="+Inf"`, or disagree with `_count`.
 *
 * No maintained npm package does this: `parse-prometheus-text-format` (unmaintained) merges the
 * buckets of a labelled histogram into one series and drops its `_count`/`_sum`; `prom2javascript`
 * is regex-based; `@platformatic/promotel` is ES modules only and regex-based.
 */

/** The metric types of the text format. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** One sample: a line of the exposition. */
export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, `x_count` for a histogram `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestampMs?: number;
}

/** A metric family: its HELP, TYPE and samples, in the order of the text. */
export interface MetricFamily {
  name: string;
  help: string | undefined;
  type: MetricType;
  samples: Sample[];
}

/** A line the parser rejects, with its 1-based number and text. */
export class PrometheusParseError extends Error {
  constructor(readonly line: number, readonly text: string, reason: string) {
    super(`Prometheus text, line ${line}: ${reason}: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text)}`);
    this.name = 'PrometheusParseError';
  }
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function isNameStart(c: string, colon: boolean): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || (colon && c === ':');
}

function isNameChar(c: string, colon: boolean): boolean {
  return isNameStart(c, colon) || (c >= '0' && c <= '9');
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/**
 * A float as Prometheus reads it (Go's strconv.ParseFloat): decimal with an optional exponent, or
 * NaN and ±Inf/Infinity in any case (prom-client writes `Nan` for an empty event-loop histogram).
 */
function parseFloatToken(token: string): number | undefined {
  switch (token.toLowerCase()) {
    case 'nan': return NaN;
    case 'inf': case '+inf': case 'infinity': case '+infinity': return Infinity;
    case '-inf': case '-infinity': return -Infinity;
  }
  let i = 0;
  if (token[i] === '+' || token[i] === '-') i++;
  let digits = 0;
  while (token[i] !== undefined && token[i]! >= '0' && token[i]! <= '9') { i++; digits++; }
  if (token[i] === '.') {
    i++;
    while (token[i] !== undefined && token[i]! >= '0' && token[i]! <= '9') { i++; digits++; }
  }
  if (digits === 0) return undefined;
  if (token[i] === 'e' || token[i] === 'E') {
    i++;
    if (token[i] === '+' || token[i] === '-') i++;
    let exp = 0;
    while (token[i] !== undefined && token[i]! >= '0' && token[i]! <= '9') { i++; exp++; }
    if (exp === 0) return undefined;
  }
  return i === token.length ? Number(token) : undefined;
}

/** Reads one line at a time; every method throws a {@link PrometheusParseError} on bad input. */
class LineReader {
  pos = 0;
  constructor(readonly text: string, readonly lineNo: number) {}

  fail(reason: string): never {
    throw new PrometheusParseError(this.lineNo, this.text, reason);
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  done(): boolean {
    return this.pos >= this.text.length;
  }

  skipBlanks(): number {
    const start = this.pos;
    while (isBlank(this.peek())) this.pos++;
    return this.pos - start;
  }

  name(colon: boolean, what: string): string {
    const start = this.pos;
    const first = this.peek();
    if (first === undefined || !isNameStart(first, colon)) this.fail(`expected a ${what} at column ${this.pos + 1}`);
    this.pos++;
    while (this.peek() !== undefined && isNameChar(this.peek() as string, colon)) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** A token up to the next blank or the end of the line. */
  token(): string {
    const start = this.pos;
    while (!this.done() && !isBlank(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** A double-quoted label value with the escapes `\\`, `\"` and `\n`. */
  quoted(): string {
    if (this.peek() !== '"') this.fail(`expected '"' at column ${this.pos + 1}`);
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated label value');
      this.pos++;
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.peek();
        this.pos++;
        if (e === '\\') out += '\\';
        else if (e === '"') out += '"';
        else if (e === 'n') out += '\n';
        else this.fail(`invalid escape "\\${e ?? ''}" in a label value`);
      } else {
        out += c;
      }
    }
  }
}

function unescapeHelp(r: LineReader, raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[++i];
    if (e === '\\') out += '\\';
    else if (e === 'n') out += '\n';
    else r.fail(`invalid escape "\\${e ?? ''}" in HELP`);
  }
  return out;
}

function parseSample(r: LineReader): Sample {
  const name = r.name(true, 'metric name');
  const labels: Record<string, string> = {};
  let gap = r.skipBlanks();
  if (r.peek() === '{') {
    r.pos++;
    r.skipBlanks();
    while (r.peek() !== '}') {
      const label = r.name(false, 'label name');
      if (label.startsWith('__')) r.fail(`label name "${label}" is reserved (starts with "__")`);
      if (Object.prototype.hasOwnProperty.call(labels, label)) r.fail(`label "${label}" appears twice`);
      r.skipBlanks();
      if (r.peek() !== '=') r.fail(`expected "=" after label "${label}"`);
      r.pos++;
      r.skipBlanks();
      labels[label] = r.quoted();
      r.skipBlanks();
      if (r.peek() === ',') {
        r.pos++;
        r.skipBlanks();
      } else if (r.peek() !== '}') {
        r.fail(`expected "," or "}" at column ${r.pos + 1}`);
      }
    }
    r.pos++;
    gap = r.skipBlanks();
  }
  if (gap === 0) r.fail('expected a blank before the value');
  const valueToken = r.token();
  const value = parseFloatToken(valueToken);
  if (value === undefined) r.fail(`invalid value "${valueToken}"`);
  const sample: Sample = { name, labels, value };
  r.skipBlanks();
  if (!r.done()) {
    const ts = r.token();
    if (!/^-?\d+$/.test(ts)) r.fail(`invalid timestamp "${ts}"`);
    sample.timestampMs = Number(ts);
    r.skipBlanks();
    if (!r.done()) r.fail('unexpected text after the timestamp');
  }
  return sample;
}

/** The family a sample belongs to, given the TYPEs declared so far. */
function familyOf(sample: string, types: Map<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count'] as const) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const type = types.get(base);
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return sample;
}

function seriesKey(sample: Sample): string {
  return `${sample.name}{${Object.keys(sample.labels).sort().map((k) => `${k}=${JSON.stringify(sample.labels[k])}`).join(',')}}`;
}

function checkFamily(family: MetricFamily, lineOf: Map<Sample, LineReader>): void {
  const fail: (sample: Sample, reason: string) => never = (sample, reason) => (lineOf.get(sample) as LineReader).fail(reason);
  if (family.type === 'histogram') {
    const groups = new Map<string, { buckets: [number, number, Sample][]; count?: number; last: Sample }>();
    for (const s of family.samples) {
      const { le, ...rest } = s.labels;
      const key = seriesKey({ name: '', labels: rest, value: 0 });
      const g = groups.get(key) ?? { buckets: [], last: s };
      groups.set(key, g);
      g.last = s;
      if (s.name === `${family.name}_bucket`) {
        const bound = le === undefined ? undefined : parseFloatToken(le);
        if (bound === undefined || Number.isNaN(bound)) fail(s, `histogram bucket without a valid "le" label`);
        g.buckets.push([bound, s.value, s]);
      } else if (le !== undefined) {
        fail(s, `"le" label on ${s.name}`);
      } else if (s.name === `${family.name}_count`) {
        g.count = s.value;
      } else if (s.name !== `${family.name}_sum`) {
        fail(s, `sample ${s.name} in histogram ${family.name}`);
      }
    }
    for (const g of groups.values()) {
      const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) {
        const [, value, sample] = sorted[i] as [number, number, Sample];
        if (value < (sorted[i - 1] as [number, number, Sample])[1]) fail(sample, 'histogram buckets are not cumulative');
      }
      const inf = sorted[sorted.length - 1];
      if (inf === undefined || inf[0] !== Infinity) fail(g.last, `histogram ${family.name} has no le="+Inf" bucket`);
      if (g.count !== undefined && g.count !== inf[1]) fail(g.last, `histogram ${family.name}: _count ${g.count} differs from the +Inf bucket ${inf[1]}`);
    }
  } else if (family.type === 'summary') {
    for (const s of family.samples) {
      if (s.name !== family.name) {
        if (s.labels.quantile !== undefined) fail(s, `"quantile" label on ${s.name}`);
        continue;
      }
      const q = s.labels.quantile === undefined ? undefined : parseFloatToken(s.labels.quantile);
      if (q === undefined || !(q >= 0 && q <= 1)) fail(s, 'summary sample without a "quantile" label in [0, 1]');
    }
  }
}

/** Parses Prometheus text into its metric families. Throws {@link PrometheusParseError}. */
export function parsePrometheusText(text: string): MetricFamily[] {
  const families: MetricFamily[] = [];
  const byName = new Map<string, MetricFamily>();
  const types = new Map<string, MetricType>();
  const helps = new Set<string>();
  const series = new Set<string>();
  const lineOf = new Map<Sample, LineReader>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else if (text.length > 0) throw new PrometheusParseError(lines.length, lines[lines.length - 1] as string, 'the text must end with a line feed');

  const familyFor = (name: string, r: LineReader): MetricFamily => {
    if (current?.name === name) return current;
    if (byName.has(name)) r.fail(`the samples of ${name} are not together`);
    const family: MetricFamily = { name, help: undefined, type: types.get(name) ?? 'untyped', samples: [] };
    families.push(family);
    byName.set(name, family);
    current = family;
    return family;
  };

  lines.forEach((line, index) => {
    const r = new LineReader(line, index + 1);
    r.skipBlanks();
    if (r.done()) return;
    if (r.peek() === '#') {
      r.pos++;
      r.skipBlanks();
      const keyword = r.token();
      if (keyword !== 'HELP' && keyword !== 'TYPE') return; // a plain comment
      if (r.skipBlanks() === 0) r.fail(`expected a metric name after ${keyword}`);
      const name = r.name(true, 'metric name');
      if (keyword === 'HELP') {
        if (helps.has(name)) r.fail(`second HELP for ${name}`);
        helps.add(name);
        let help = '';
        if (!r.done()) {
          if (r.skipBlanks() === 0) r.fail('expected a blank after the metric name');
          help = unescapeHelp(r, line.slice(r.pos));
        }
        const family = byName.get(name);
        if (family !== undefined && family !== current) r.fail(`HELP for ${name} after its samples`);
        familyFor(name, r).help = help;
        return;
      }
      if (r.skipBlanks() === 0) r.fail('expected a type after the metric name');
      const typeAt = r.pos;
      const type = r.token() as MetricType;
      r.skipBlanks();
      if (!TYPES.has(type) || !r.done()) r.fail(`unknown metric type "${line.slice(typeAt).trim()}"`);
      if (types.has(name)) r.fail(`second TYPE for ${name}`);
      const family = byName.get(name);
      if (family !== undefined && family.samples.length > 0) r.fail(`TYPE for ${name} after its samples`);
      types.set(name, type);
      familyFor(name, r).type = type;
      return;
    }
    const sample = parseSample(r);
    const key = seriesKey(sample);
    if (series.has(key)) r.fail(`duplicate series ${key}`);
    series.add(key);
    lineOf.set(sample, r);
    familyFor(familyOf(sample.name, types), r).samples.push(sample);
  });
  for (const family of families) checkFamily(family, lineOf);
  return families;
}

/** Parses Prometheus text into its samples, in order (see {@link parsePrometheusText}). */
export function parseMetrics(text: string): Sample[] {
  return parsePrometheusText(text).flatMap((f) => f.samples);
}

/** Samples named `name` whose labels include `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}
