/**
 * A real pino logger whose output is checked write by write: every write must be exactly one
 * JSON line (one `\n`, at its end). A value that smuggled a newline into a line would show here.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface CheckedLogger {
  logger: Logger;
  /** Lines written. */
  count(): number;
  /** Writes that were not exactly one parseable JSON line, as written (clipped to 300 chars). */
  broken: string[];
}

export function checkedLogger(): CheckedLogger {
  let lines = 0;
  const broken: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      const body = text.endsWith('\n') ? text.slice(0, -1) : undefined;
      let ok = body !== undefined && !body.includes('\n') && !body.includes('\r');
      if (ok) {
        try {
          JSON.parse(body as string);
        } catch {
          ok = false;
        }
      }
      if (ok) lines++;
      else broken.push(text.slice(0, 300));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), count: () => lines, broken };
}
