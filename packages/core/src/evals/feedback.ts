import type { HandlerResponse } from '../http/metrics-endpoint';
import type { ResolvedFeedback } from './options';
import type { ScoreInput, ScoreRecord } from './score';
import { scoreProblem } from './scores';

const KEYS = new Set(['traceId', 'spanId', 'name', 'value', 'comment']);
const MAX_CLIENTS = 10_000;
const JSON_TYPE = /^application\/json\b/i;
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

function answer(status: number, body: object, headers: Record<string, string> = JSON_HEADERS): HandlerResponse {
  return { status, headers, body: JSON.stringify(body) };
}

/** What the feedback route needs of its llmscope instance. */
export type RecordScore = (input: ScoreInput) => ScoreRecord | string;

/** A token bucket per client: `tokens` left at `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The human feedback route, framework-neutral: `POST {path}` with a JSON body
 * `{ traceId, spanId?, name, value, comment? }` becomes a `human` score for that trace (its prompt
 * version, feature and session from the recent-trace index). Adapters hand it the parsed body or
 * the raw bytes; every answer is a clear status with a JSON `{ error }`: 400 bad body, 403 refused
 * by `authorize`, 413 too large, 415 not JSON, 429 over the per-client rate (with `Retry-After`).
 */
export class FeedbackRoute {
  /** Path of the route (`POST`). */
  readonly path: string;
  /** Largest body accepted, bytes (adapters stop reading past it and answer 413). */
  readonly maxBodyBytes: number;
  private readonly clients = new Map<string, Bucket>();

  /** @internal Built by `Llmscope` from `evaluations.feedback`. */
  constructor(private readonly options: ResolvedFeedback, private readonly record: RecordScore) {
    this.path = options.path;
    this.maxBodyBytes = options.maxBodyBytes;
  }

  /** Whether a request target (path and query) is this route. */
  matches(url: string | undefined): boolean {
    if (url === undefined || !url.startsWith(this.path)) return false;
    return url.length === this.path.length || url.charCodeAt(this.path.length) === 0x3f;
  }

  /**
   * Answers one feedback post.
   * @param body - the parsed JSON body (Fastify), or the raw bytes with `contentType` (Node, Express)
   * @param client - the client's address, for the rate limit
   * @param request - the framework's request, for `authorize`
   */
  async handle(body: unknown, contentType: string | undefined, client: string, request: unknown): Promise<HandlerResponse> {
    if (!this.take(client)) {
      const retry = Math.ceil(60 / this.options.ratePerMinute);
      return answer(429, { error: `too many feedback posts; retry in ${retry} s` }, { ...JSON_HEADERS, 'retry-after': String(retry) });
    }
    const authorize = this.options.authorize;
    if (authorize !== undefined) {
      let allowed = false;
      try {
        allowed = (await authorize(request)) === true;
      } catch {
        // A throwing authorize refuses: it must not open the route.
      }
      if (!allowed) return answer(403, { error: 'not allowed to post feedback' });
    }
    let parsed = body;
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      if (contentType === undefined || !JSON_TYPE.test(contentType)) return answer(415, { error: 'the body must be JSON (content-type: application/json)' });
      const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      if (length > this.maxBodyBytes) return this.tooLarge();
      try {
        parsed = JSON.parse(body.toString()) as unknown;
      } catch {
        return answer(400, { error: 'the body is not valid JSON' });
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return answer(400, { error: 'the body must be an object such as { "traceId": "…", "name": "thumbs", "value": 1 }' });
    const fields = parsed as Record<string, unknown>;
    for (const key in fields) if (!KEYS.has(key)) return answer(400, { error: `unknown field \`${key}\`; expected traceId, spanId, name, value, comment` });
    if (fields.traceId === undefined) return answer(400, { error: '`traceId` is required (the x-trace-id response header of the answer)' });
    const input: ScoreInput = {
      name: fields.name as string, value: fields.value as ScoreInput['value'], traceId: fields.traceId as string,
      source: 'human', evaluator: 'feedback',
    };
    if (fields.spanId !== undefined) input.spanId = fields.spanId as string;
    if (fields.comment !== undefined) input.comment = fields.comment as string;
    const problem = scoreProblem(input);
    if (problem !== undefined) return answer(400, { error: problem });
    const result = this.record(input);
    if (typeof result === 'string') return answer(400, { error: result });
    return answer(202, { accepted: true, traceId: result.traceId, name: result.name });
  }

  /** The 413 answer to a body over `maxBodyBytes` (adapters that stop reading early send it too). */
  tooLarge(): HandlerResponse {
    return answer(413, { error: `the body must be at most ${this.maxBodyBytes} bytes` });
  }

  /** One post from `client` if its bucket has a token (refilled at `ratePerMinute`). Bounded map. */
  private take(client: string): boolean {
    const now = Date.now();
    const rate = this.options.ratePerMinute;
    let bucket = this.clients.get(client);
    if (bucket === undefined) {
      if (this.clients.size >= MAX_CLIENTS) {
        const oldest = this.clients.keys().next().value;
        if (oldest !== undefined) this.clients.delete(oldest);
      }
      bucket = { tokens: rate, at: now };
      this.clients.set(client, bucket);
    } else {
      bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) * rate) / 60_000);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
