#!/usr/bin/env node
// Checks the operations pack (ops/) with the real tools, as `npm test`'s last step:
//   1. promtool check rules + promtool test rules: every alert fires when it should and stays
//      silent at the edges (ops/prometheus/tests/*.test.yml);
//   2. every metric the rules name is one docs/metrics.md documents, and every metric the alerts
//      read is in a real scrape of a real llmscope app (the built @llmscope/node), which
//      `promtool check metrics` also lints;
//   3. amtool check-config on the example Alertmanager routing (ops/alertmanager/), and its
//      routes (page to PagerDuty, notify to Slack);
//   4. every runbook_url of the alerts points at a section of docs/ops.md;
//   5. the Grafana dashboard (ops/grafana) is what its code generates, and names only documented
//      metrics and existing recording rules (ops/test/dashboard.test.ts runs its queries);
//   6. the Kubernetes examples (ops/kubernetes) and Grafana provisioning files parse as YAML, and
//      their structure holds: a ServiceMonitor per-pod scrape of /metrics, the Collector's
//      gateway tier routing by trace id to a headless Service of the tail_sampling tier.
// Prometheus 2.42+ and Alertmanager from Debian's packages (`prometheus`,
// `prometheus-alertmanager`); .ci/run installs them. Prints "N passed, M failed" at the end.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const prometheusDir = join(root, 'ops/prometheus');
const ruleFiles = ['llmscope-recording.rules.yml', 'llmscope-alerts.rules.yml'].map((f) => join(prometheusDir, f));
const testFiles = readdirSync(join(prometheusDir, 'tests')).filter((f) => f.endsWith('.test.yml')).sort().map((f) => join(prometheusDir, 'tests', f));
const alertmanagerConfig = join(root, 'ops/alertmanager/alertmanager.yml');

let passed = 0;
let failed = 0;

function check(name, fn) {
  const started = performance.now();
  return Promise.resolve()
    .then(fn)
    .then(() => {
      passed++;
      console.log(`ok   ${name} (${Math.round(performance.now() - started)} ms)`);
    }, (error) => {
      failed++;
      console.log(`FAIL ${name}\n${error instanceof Error ? error.message : String(error)}`);
    });
}

function run(tool, args, input) {
  const result = spawnSync(tool, args, { cwd: root, encoding: 'utf8', input });
  if (result.error !== undefined && result.error.code === 'ENOENT') {
    throw new Error(`${tool} is not installed: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager (.ci/run does this).`);
  }
  if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout + result.stderr;
}

/** Metric names in a PromQL expression (llmscope's families only: http_server_*, gen_ai_*, llmscope_*). */
function metricNames(expr) {
  // Not the parts of recording-rule names (`job:http_server_requests:rate5m`).
  return new Set([...expr.matchAll(/(?<![\w:])((?:http_server|gen_ai|llmscope)_[a-z0-9_]+)(?![\w:])/g)].map((m) => m[1]));
}

/** The family a sample name belongs to (histogram series end in _bucket, _count, _sum). */
function family(name) {
  return name.replace(/_(bucket|count|sum)$/, '');
}

/** `expr:` values of a rules file (plain and block scalars), without a YAML parser. */
function expressions(file) {
  const exprs = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (m === null) continue;
    if (m[2] !== '|' && m[2] !== '>-' && m[2] !== '|-' && m[2] !== '>') {
      exprs.push(m[2]);
      continue;
    }
    const body = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > m[1].length)) body.push(lines[++i]);
    exprs.push(body.join('\n'));
  }
  return exprs;
}

/** Starts a small llmscope app (the built node adapter) that produces every series the alerts read, and scrapes it. */
async function scrapeRealApp() {
  const require = createRequire(import.meta.url);
  const llmscope = require(join(root, 'packages/node/dist/index.js'));
  const { withLlmscope, traceLLM, recordCacheLookup, trackQueueDepth, recordQueueProcessed, setFeature } = llmscope;
  const handler = withLlmscope(async (req, res) => {
    setFeature('chat');
    if (req.url === '/fail') throw new Error('boom');
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => ({ usage: { prompt_tokens: 1000, completion_tokens: 200 } }));
    await traceLLM({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
      throw Object.assign(new Error('rate limited'), { name: 'RateLimitError' });
    }).catch(() => undefined);
    recordCacheLookup('answers', true);
    recordCacheLookup('answers', false);
    recordQueueProcessed('llm-requests');
    res.end('ok');
    // prom-client's default metrics are left out: three of its gauges end in _total, which
    // promtool's lint refuses (nodejs_active_handles_total, ...); llmscope's own metrics pass.
  }, { tracing: false, metrics: { defaultMetrics: false }, budgets: { total: { daily: { usd: 10 } }, features: { chat: { daily: { usd: 1, tokens: 100000 }, monthly: { usd: 20 } } } } });
  const stopQueue = trackQueueDepth('llm-requests', () => 2);
  const server = createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  try {
    await (await fetch(`${url}/chat`, { method: 'POST' })).text();
    await (await fetch(`${url}/fail`)).text();
    return await (await fetch(`${url}/metrics`)).text();
  } finally {
    stopQueue();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await handler.llmscope.shutdown(1000);
  }
}

await check('promtool check rules', () => run('promtool', ['check', 'rules', ...ruleFiles]));
await check(`promtool test rules (${testFiles.length} files)`, () => run('promtool', ['test', 'rules', ...testFiles]));

await check('every alert has a test that expects it to fire, and one to stay silent', () => {
  const alerts = [...readFileSync(ruleFiles[1], 'utf8').matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]);
  const tests = testFiles.map((f) => readFileSync(f, 'utf8')).join('\n');
  const missing = [];
  for (const alert of alerts) {
    // Each `alertname: X` line is followed by its expectation: `exp_alerts: []` (silent) or a list (fires).
    const expectations = [...tests.matchAll(new RegExp(`alertname: ${alert}\\n\\s*exp_alerts:(.*)`, 'g'))].map((m) => m[1].trim());
    if (!expectations.includes('[]')) missing.push(`${alert}: no silent case`);
    if (!expectations.includes('')) missing.push(`${alert}: no firing case`);
  }
  if (alerts.length !== 6) missing.push(`expected 6 alerts, found ${alerts.length}`);
  if (missing.length > 0) throw new Error(missing.join('\n'));
});

await check('every metric the rules name is documented in docs/metrics.md', () => {
  const documented = readFileSync(join(root, 'docs/metrics.md'), 'utf8');
  const missing = [];
  for (const file of ruleFiles) {
    for (const expr of expressions(file)) {
      for (const name of metricNames(expr)) {
        if (!documented.includes(`\`${family(name)}\``) && !documented.includes(`\`${name}\``)) missing.push(`${name} (${file})`);
      }
    }
  }
  if (missing.length > 0) throw new Error(`not in docs/metrics.md:\n${missing.join('\n')}`);
});

let scrape;
await check('a real app\'s /metrics passes promtool check metrics and has every series the alerts read', async () => {
  scrape = await scrapeRealApp();
  run('promtool', ['check', 'metrics'], scrape);
  const present = new Set([...scrape.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]));
  const missing = [];
  for (const expr of expressions(ruleFiles[1])) {
    for (const name of metricNames(expr)) if (!present.has(name)) missing.push(name);
  }
  if (missing.length > 0) throw new Error(`not in the scrape: ${[...new Set(missing)].join(', ')}`);
});

await check('amtool check-config ops/alertmanager/alertmanager.yml', () => run('amtool', ['check-config', alertmanagerConfig]));
await check('amtool config routes test: page goes to PagerDuty, notify to Slack', () => {
  for (const [severity, receiver] of [['page', 'pagerduty-page'], ['notify', 'slack-notify']]) {
    run('amtool', ['config', 'routes', 'test', `--config.file=${alertmanagerConfig}`, `--verify.receivers=${receiver}`, `severity=${severity}`, 'alertname=LlmscopeRouteCheck', 'job=rag']);
  }
});

await check('every runbook_url points at a section of docs/ops.md', () => {
  const ops = readFileSync(join(root, 'docs/ops.md'), 'utf8');
  // GitHub's anchors: headings lower-cased, spaces to dashes, punctuation dropped.
  const anchors = new Set([...ops.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
  const urls = [...readFileSync(ruleFiles[1], 'utf8').matchAll(/runbook_url: "docs\/ops\.md#([^"]+)"/g)].map((m) => m[1]);
  const missing = urls.filter((a) => !anchors.has(a));
  if (urls.length !== 6 || missing.length > 0) throw new Error(`${urls.length} runbook URLs; no section for: ${missing.join(', ')}`);
});

await check('the Grafana dashboard JSON is what ops/grafana/dashboard.ts generates (else: npm run ops:dashboard)', () => {
  const tsx = join(root, 'node_modules/.bin/tsx');
  if (!existsSync(tsx)) throw new Error('tsx is missing: npm install');
  run(tsx, [join(root, 'ops/grafana/generate.ts'), '--check']);
});

await check('the dashboard names only documented metrics and existing recording rules', () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'ops/grafana/llmscope-dashboard.json'), 'utf8'));
  const documented = readFileSync(join(root, 'docs/metrics.md'), 'utf8');
  const recorded = new Set([...readFileSync(ruleFiles[0], 'utf8').matchAll(/^\s*- record: (\S+)/gm)].map((m) => m[1]));
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => v.query),
  ];
  const missing = [];
  for (const expr of exprs) {
    for (const name of metricNames(expr)) {
      if (!documented.includes(`\`${family(name)}\``) && !documented.includes(`\`${name}\``)) missing.push(`${name}: not in docs/metrics.md`);
    }
    for (const [rule] of expr.matchAll(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/g)) if (!recorded.has(rule)) missing.push(`${rule}: no such recording rule`);
  }
  if (exprs.length < 50) missing.push(`only ${exprs.length} queries in the dashboard`);
  if (missing.length > 0) throw new Error([...new Set(missing)].join('\n'));
});

/** Every YAML document of a file; a syntax error fails with its position. */
function yamlDocuments(file) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS());
}

/** Each pipeline's receivers, processors and exporters are defined in the Collector config. */
function checkCollector(name, config) {
  const problems = [];
  for (const [pipeline, p] of Object.entries(config.service?.pipelines ?? {})) {
    for (const kind of ['receivers', 'processors', 'exporters']) {
      for (const id of p[kind] ?? []) if (config[kind]?.[id] === undefined) problems.push(`${name}: pipeline ${pipeline} uses ${kind.slice(0, -1)} ${id}, not defined`);
    }
  }
  if (Object.keys(config.service?.pipelines ?? {}).length === 0) problems.push(`${name}: no pipeline`);
  return problems;
}

await check('ops/kubernetes and ops/grafana/provisioning: YAML parses; ServiceMonitor per pod; gateway routes by trace id to the tail_sampling tier', () => {
  const k8sDir = join(root, 'ops/kubernetes');
  const objects = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => yamlDocuments(join(k8sDir, f)));
  for (const f of ['dashboards.yaml', 'datasources.yaml']) yamlDocuments(join(root, 'ops/grafana/provisioning', f));
  const problems = [];
  const find = (kind, name) => objects.find((o) => o?.kind === kind && o.metadata?.name === name);
  for (const o of objects) if (typeof o?.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') problems.push(`an object without apiVersion, kind or metadata.name: ${JSON.stringify(o).slice(0, 80)}`);
  const monitors = objects.filter((o) => o?.kind === 'ServiceMonitor');
  if (monitors.length === 0) problems.push('no ServiceMonitor');
  for (const m of monitors) {
    const service = objects.find((o) => o?.kind === 'Service' && Object.entries(m.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    if (service === undefined) problems.push(`ServiceMonitor ${m.metadata.name} selects no Service`);
    for (const e of m.spec.endpoints) {
      if (e.path !== '/metrics') problems.push(`ServiceMonitor ${m.metadata.name}: path ${e.path}`);
      if (!service?.spec.ports.some((p) => p.name === e.port)) problems.push(`ServiceMonitor ${m.metadata.name}: no Service port named ${e.port}`);
    }
  }
  const gatewayMap = find('ConfigMap', 'otel-gateway');
  const samplerMap = find('ConfigMap', 'otel-sampler');
  if (gatewayMap === undefined || samplerMap === undefined) throw new Error('the otel-gateway and otel-sampler ConfigMaps are missing');
  const gateway = parseYaml(gatewayMap.data['config.yaml']);
  const sampler = parseYaml(samplerMap.data['config.yaml']);
  problems.push(...checkCollector('otel-gateway', gateway), ...checkCollector('otel-sampler', sampler));
  const lb = gateway.exporters?.loadbalancing;
  if (lb?.routing_key !== 'traceID') problems.push('otel-gateway: the loadbalancing exporter does not route by traceID');
  const host = lb?.resolver?.dns?.hostname ?? '';
  const headless = find('Service', host.split('.')[0]);
  if (headless?.spec.clusterIP !== 'None') problems.push(`otel-gateway: the resolver's ${host} is not a headless Service here`);
  else if (headless.spec.selector['app.kubernetes.io/name'] !== 'otel-sampler') problems.push(`${host} does not select the sampler pods`);
  if (!sampler.service?.pipelines?.traces?.processors?.includes('tail_sampling')) problems.push('otel-sampler: no tail_sampling in the traces pipeline');
  if (problems.length > 0) throw new Error(problems.join('\n'));
});

console.log(`ops-check: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
