/**
 * This project runs as ES modules (Nest 12 is ESM only), where CommonJS's `__dirname` does not
 * exist; the testkit's OTLP decoder finds its vendored .proto files from it when it decodes the
 * first export. Its folder is given as a global, which is where an ES module looks the name up.
 * Jest runs from the repository root.
 */
import { join } from 'node:path';

const scope = globalThis as { __dirname?: string };
scope.__dirname ??= join(process.cwd(), 'packages', 'testkit', 'src');
