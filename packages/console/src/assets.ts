/**
 * The prebuilt UI (ui/ in the package: hand-written HTML, one vanilla JS module, CSS; no bundler,
 * no build at install), read once when the console is mounted and served from memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One asset: its bytes and content type. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/**
 * ui/ next to src/ and dist/: the same `..` from both. The package is CommonJS (its ES module entry
 * wraps it), so `__dirname` is there; only a test runner loading the TypeScript sources as ES
 * modules (Jest's ESM mode, for Nest 12) has none: there the installed package is found by name.
 */
function uiDir(): string {
  if (typeof __dirname === 'string') return join(__dirname, '..', 'ui');
  const require = createRequire(join(process.cwd(), 'index.js'));
  return join(dirname(require.resolve('@llmscope/console/package.json')), 'ui');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reads the UI, with the mount path written into the page (the only value it carries). */
export function loadAssets(path: string): Map<string, Asset> {
  const dir = uiDir();
  const read = (name: string): Buffer => readFileSync(join(dir, name));
  const html = read('index.html').toString('utf8').replaceAll('%BASE%', escapeAttribute(path));
  return new Map<string, Asset>([
    ['', { body: Buffer.from(html), type: 'text/html; charset=utf-8' }],
    ['/assets/app.js', { body: read('app.js'), type: 'text/javascript; charset=utf-8' }],
    ['/assets/app.css', { body: read('app.css'), type: 'text/css; charset=utf-8' }],
  ]);
}
