/**
 * The proof of ops/grafana/llmscope-dashboard.json (issue 15 item 3): a real Prometheus, loaded
 * with ops/prometheus's rules, scrapes a real llmscope app under generated traffic every second;
 * every query of every panel, with the template variables substituted as Grafana does, runs
 * through Prometheus' HTTP API and must return data (a finite value), never an error. The
 * variables' own queries must list values too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPrometheus, type PrometheusServer } from '@llmscope/testkit';
import { renderDashboard, DASHBOARD_JSON } from '../grafana/generate';
import { prometheusBinary } from '../../test/prometheus-binary';
import { startTrafficApp, type TrafficApp } from './traffic-app';

interface Target { expr: string; refId: string; datasource: { uid: string } }
interface DashboardPanel { id: number; type: string; title: string; targets?: Target[] }
interface TemplateVariable { name: string; type: string; query: string; allValue?: string }
interface DashboardJson { uid: string; panels: DashboardPanel[]; templating: { list: TemplateVariable[] } }

const committed = readFileSync(DASHBOARD_JSON, 'utf8');
const dashboard = JSON.parse(committed) as DashboardJson;
const rulesDir = join(__dirname, '../prometheus');

// What Grafana substitutes with the dashboard's default range (6 h), the data source's default
// scrape interval (15 s: $__rate_interval = 4 × 15 s) and every multi-value variable on "All"
// (its allValue, `.*`).
const builtins: Record<string, string> = { __rate_interval: '1m', __interval: '20s', __range: '21600s' };

function interpolate(expr: string): string {
  const out = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const variable = dashboard.templating.list.find((v) => v.name === name);
    const value = builtins[name] ?? variable?.allValue;
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
  return out;
}

const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));

test('the committed JSON is what ops/grafana/dashboard.ts generates (else: npm run ops:dashboard)', () => {
  expect(committed).toBe(renderDashboard());
});

test('every panel queries the datasource variable, with unique ids and refIds', () => {
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance', 'route', 'model']);
  for (const panel of panels) {
    const refIds = (panel.targets ?? []).map((t) => t.refId);
    expect(refIds.length).toBeGreaterThan(0);
    expect(new Set(refIds).size).toBe(refIds.length);
    for (const t of panel.targets ?? []) expect(t.datasource.uid).toBe('${datasource}');
  }
});

describe('against a real Prometheus scraping a real app', () => {
  let app: TrafficApp;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    app = await startTrafficApp();
    prometheus = await startPrometheus({
      binary: prometheusBinary(), job: 'llm-app', targets: [app.target],
      ruleFiles: ['llmscope-recording.rules.yml', 'llmscope-alerts.rules.yml'].map((f) => join(rulesDir, f)),
    });
  }, 90_000);

  afterAll(async () => {
    await prometheus?.close();
    await app?.close();
  });

  test(`every query of every panel returns data (${targets.length} queries, ${panels.length} panels), every rule evaluates, and every variable lists values`, async () => {
    // Rounds of traffic a second apart until every query has data: rates need two scrapes of a
    // series, recording rules one evaluation after that. Generous deadline (a loaded machine).
    const started = Date.now();
    const deadline = started + 45_000;
    let missing: string[] = [];
    let rounds = 0;
    do {
      await app.traffic();
      rounds++;
      await new Promise((r) => setTimeout(r, 1000));
      missing = [];
      for (const { panel, target } of targets) {
        const expr = interpolate(target.expr);
        let data;
        try {
          data = await prometheus.query(expr);
        } catch (error) {
          // An error is never a matter of waiting: fail at once.
          throw new Error(`panel "${panel.title}" ${target.refId}: ${expr}\n${String(error)}`);
        }
        const finite = data.result.some((s) => Number.isFinite(Number(s.value[1])));
        if (!finite) missing.push(`panel "${panel.title}" ${target.refId}: ${expr} (${data.result.length} series, none finite)`);
      }
    } while (missing.length > 0 && Date.now() < deadline);
    expect(missing).toEqual([]);
    console.log(`dashboard: ${targets.length} queries of ${panels.length} panels returned data after ${rounds} rounds of traffic (${Date.now() - started} ms)`);

    // The rules the panels read were evaluated on this data without error (alert rules included).
    const rules = await (await fetch(`${prometheus.url}/api/v1/rules`)).json() as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const evaluated = rules.data.groups.flatMap((g) => g.rules);
    expect(evaluated.length).toBeGreaterThan(20);
    expect(evaluated.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);

    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const m = /^label_values\((.+), (\w+)\)$/.exec(variable.query);
      expect(m).not.toBeNull();
      const [, selector = '', label = ''] = m ?? [];
      const res = await fetch(`${prometheus.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': interpolate(selector) })}`);
      const body = await res.json() as { status: string; data: string[] };
      expect({ variable: variable.name, status: body.status, some: body.data.length > 0 }).toEqual({ variable: variable.name, status: 'success', some: true });
    }
  }, 90_000);
});
