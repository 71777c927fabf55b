/**
 * Writes the dashboard of ./dashboard.ts to ops/grafana/llmscope-dashboard.json
 * (`npm run ops:dashboard`). With `--check`, writes nothing and exits 1 when the committed JSON
 * differs from what the code generates (the ops check runs this: edit the code, then regenerate).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDashboard } from './dashboard';

/** Where the generated dashboard is committed. */
export const DASHBOARD_JSON = join(__dirname, 'llmscope-dashboard.json');

/** The dashboard as committed: two-space JSON with a final newline. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

function main(args: string[]): number {
  const json = renderDashboard();
  if (args.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(DASHBOARD_JSON, 'utf8');
    } catch {
      // Missing: stale too.
    }
    if (committed === json) return 0;
    console.error(`${DASHBOARD_JSON} is stale: it is not what ops/grafana/dashboard.ts generates. Run \`npm run ops:dashboard\` and commit the JSON.`);
    return 1;
  }
  writeFileSync(DASHBOARD_JSON, json);
  console.log(`wrote ${DASHBOARD_JSON}`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
