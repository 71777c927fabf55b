import type { RequestListener } from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { listen, type Listening } from '@llmscope/testkit';

const open: Listening[] = [];

/** Listens on 127.0.0.1 for the rest of the test file (closed by {@link closeServed}); returns the URL. */
export async function serve(app: RequestListener): Promise<string> {
  const l = await listen(app);
  open.push(l);
  return l.url;
}

/** Closes every server {@link serve} started (an `afterAll` of each suite). */
export async function closeServed(): Promise<void> {
  await Promise.all(open.splice(0).map((l) => l.close()));
}

/** The SERVER span named `name` (a thrown error lists the names there are). */
export function serverSpan(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.kind === SpanKind.SERVER && s.name === name);
  if (!span) throw new Error(`no server span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}
