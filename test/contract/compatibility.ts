import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../compat/installed';

/** One row of the table in docs/compatibility.md. */
export interface CompatibilityRow {
  framework: string;
  tested: string;
  target: string;
  node: number[];
}

/**
 * The framework table of docs/compatibility.md (the first table: the one with a "contract target"
 * column), so the suite can hold the page to what it really runs.
 */
export function compatibilityRows(): CompatibilityRow[] {
  const lines = readFileSync(join(repoRoot(), 'docs', 'compatibility.md'), 'utf8').split('\n');
  const header = lines.findIndex((l) => l.startsWith('|') && l.includes('contract target'));
  if (header < 0) throw new Error('docs/compatibility.md has no table with a "contract target" column');
  const columns = cells(lines[header]!);
  const at = (name: string): number => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`docs/compatibility.md: no "${name}" column`);
    return i;
  };
  const [framework, tested, target, node] = [at('framework'), at('tested'), at('contract target'), at('Node')];
  const rows: CompatibilityRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const c = cells(line);
    rows.push({
      framework: c[framework]!,
      tested: c[tested]!,
      target: c[target]!.replace(/`/g, ''),
      node: c[node]!.split(',').map((n) => Number(n.trim())),
    });
  }
  return rows;
}

function cells(line: string): string[] {
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

/** The Node majors scripts/test-node-versions.mjs runs the contract projects on (its `MAJORS`). */
export function testedNodeMajors(): number[] {
  const script = readFileSync(join(repoRoot(), 'scripts', 'test-node-versions.mjs'), 'utf8');
  const m = /const MAJORS = \[([\d, ]+)\]/.exec(script);
  if (m === null) throw new Error('scripts/test-node-versions.mjs has no `const MAJORS = [...]`');
  return m[1]!.split(',').map((n) => Number(n.trim()));
}
