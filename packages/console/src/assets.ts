/**
 * The prebuilt UI (ui/ in the package: hand-written HTML, one vanilla JS module, CSS; no bundler,
 * no build at install), read once when the console is mounted and served from memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One asset: its bytes and content type. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** ui/ next to src/ and dist/: the same `..` from both. */
const UI_DIR = join(__dirname, '..', 'ui');

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reads the UI, with the mount path written into the page (the only value it carries). */
export function loadAssets(path: string): Map<string, Asset> {
  const read = (name: string): Buffer => readFileSync(join(UI_DIR, name));
  const html = read('index.html').toString('utf8').replaceAll('%BASE%', escapeAttribute(path));
  return new Map<string, Asset>([
    ['', { body: Buffer.from(html), type: 'text/html; charset=utf-8' }],
    ['/assets/app.js', { body: read('app.js'), type: 'text/javascript; charset=utf-8' }],
    ['/assets/app.css', { body: read('app.css'), type: 'text/css; charset=utf-8' }],
  ]);
}
