/**
 * A raw HTTP/1.1 exchange over a `net` socket: the request is written byte for byte (Node's
 * http client refuses some header bytes: control characters, bare CR/LF), and the answer is
 * parsed here. One request per connection (`connection: close`), so the answer ends with it.
 */
import { connect } from 'node:net';

/** What came back: a status, lower-cased headers and the (de-chunked) body; status 0 if none. */
export interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
  /** The socket failed (reset) before a complete answer. */
  error?: string;
}

/** Sends `request` (a complete HTTP/1.1 request, head and body) to `url`'s host and port. */
export function rawRequest(url: string, request: Buffer, timeoutMs = 10000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timeout')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      error = e.message;
    });
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks), error)));
    socket.end(request);
  });
}

/** Builds a request head from a method, a target and header lines given as raw bytes. */
export function buildRequest(method: string, target: string | Buffer, headers: Array<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [Buffer.from(`${method} `, 'latin1'), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(' HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n', 'latin1')];
  for (const [name, value] of headers) parts.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n', 'latin1'));
  parts.push(Buffer.from('\r\n', 'latin1'));
  return Buffer.concat(parts);
}

function parseAnswer(data: Buffer, error: string | undefined): RawAnswer {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: new Map(), body: '', error: error ?? `incomplete answer (${data.length} bytes)` };
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = data.subarray(end + 4);
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') body = dechunk(body);
  return { status, headers, body: body.toString('utf8'), ...(error === undefined ? {} : { error }) };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
