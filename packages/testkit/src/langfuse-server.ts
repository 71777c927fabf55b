import { randomUUID } from 'node:crypto';
import { Backend, RECEIVE_TIMEOUT_MS, waitFor, type BackendOptions, type Reply, type ReceivedRequest } from './backend';
import { acceptOtlp } from './otlp-receiver';
import type { ReceivedSpan } from './otlp-decode';

/** A prompt as Langfuse's prompts API returns it. */
export interface LangfusePrompt {
  name: string;
  version: number;
  type: 'text' | 'chat';
  prompt: string | { role: string; content: string }[];
  config: Record<string, unknown>;
  labels: string[];
  tags: string[];
}

/** A score as posted to `/api/public/scores` or in a `score-create` ingestion event. */
export interface LangfuseScore {
  id: string;
  name: string;
  value: number | string;
  traceId?: string;
  observationId?: string;
  sessionId?: string;
  comment?: string;
  dataType?: string;
  [key: string]: unknown;
}

/** Options of {@link LangfuseServer}. */
export interface LangfuseServerOptions extends BackendOptions {
  /** Expected public key (Basic auth user). Default `pk-lf-test`. */
  publicKey?: string;
  /** Expected secret key (Basic auth password). Default `sk-lf-test`. */
  secretKey?: string;
}

/**
 * A Langfuse API for tests: the OTLP ingestion path (`POST /api/public/otel/v1/traces`, what
 * `@langfuse/otel` exports to), the prompts API (`GET /api/public/v2/prompts/:name?version|label`)
 * and its label updates (`PATCH /api/public/v2/prompts/:name/versions/:version` with `newLabels`),
 * and scores (`POST /api/public/scores`). Every `/api/public` call must carry Basic auth with the
 * configured keys, or gets 401 like the real service.
 */
export class LangfuseServer extends Backend {
  readonly publicKey: string;
  readonly secretKey: string;
  /** Every span received on the OTLP path. */
  readonly spans: ReceivedSpan[] = [];
  readonly exportHeaders: ReceivedRequest['headers'][] = [];
  readonly scores: LangfuseScore[] = [];
  /** Requests rejected for missing or wrong credentials. */
  unauthorized = 0;
  /**
   * Every call to the prompts API answered (not those failed by the fault mode), in order: what a
   * cache test counts (`server.promptRequests.length` unchanged → served from the cache).
   */
  readonly promptRequests: { name: string; version: string | null; label: string | null; status: number; traceparent: string | undefined }[] = [];
  private readonly prompts: LangfusePrompt[] = [];
  /** Every label update answered (`PATCH .../prompts/{name}/versions/{version}`), in order. */
  readonly labelUpdates: { name: string; version: number; newLabels: string[] }[] = [];

  constructor(options: LangfuseServerOptions = {}) {
    super(options);
    this.publicKey = options.publicKey ?? 'pk-lf-test';
    this.secretKey = options.secretKey ?? 'sk-lf-test';
  }

  /** Environment variables that point `@langfuse/otel` (and llmscope) at this server. */
  get env(): { LANGFUSE_PUBLIC_KEY: string; LANGFUSE_SECRET_KEY: string; LANGFUSE_BASE_URL: string } {
    return { LANGFUSE_PUBLIC_KEY: this.publicKey, LANGFUSE_SECRET_KEY: this.secretKey, LANGFUSE_BASE_URL: this.url };
  }

  /** Adds a prompt version served by the prompts API (labels such as `production` pick it by label). */
  addPrompt(prompt: Partial<LangfusePrompt> & Pick<LangfusePrompt, 'name' | 'prompt'>): LangfusePrompt {
    const version = prompt.version ?? this.prompts.filter((p) => p.name === prompt.name).length + 1;
    const full: LangfusePrompt = {
      type: typeof prompt.prompt === 'string' ? 'text' : 'chat', config: {}, labels: [], tags: [], ...prompt, version,
    };
    this.prompts.push(full);
    return full;
  }

  /**
   * Moves `label` of prompt `name` to `version` (taken off every other version), as Langfuse's
   * `PATCH /api/public/v2/prompts/{name}/versions/{version}` with `newLabels` does.
   */
  setLabel(name: string, label: string, version: number): void {
    const target = this.prompts.find((p) => p.name === name && p.version === version);
    if (target === undefined) throw new Error(`testkit: prompt ${name} has no version ${version}`);
    for (const p of this.prompts) if (p.name === name) p.labels = p.labels.filter((l) => l !== label);
    target.labels.push(label);
  }

  /** Waits until the prompts API has answered `count` calls in all. */
  waitForPromptRequests(count: number, timeoutMs = RECEIVE_TIMEOUT_MS): Promise<LangfuseServer['promptRequests']> {
    return waitFor(() => this.promptRequests.length >= count && this.promptRequests, timeoutMs, `${count} prompt requests at the Langfuse server`);
  }

  /** Waits until `predicate` holds for the spans received so far. */
  waitForSpans(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = RECEIVE_TIMEOUT_MS): Promise<ReceivedSpan[]> {
    return waitFor(() => predicate(this.spans) && this.spans, timeoutMs, 'spans at the Langfuse server');
  }

  protected handle(request: ReceivedRequest): Reply {
    if (!request.path.startsWith('/api/public/')) return { status: 404, body: { message: 'not found' } };
    if (!this.authorized(request.headers.authorization)) {
      this.unauthorized++;
      return { status: 401, body: { message: 'Invalid credentials. Confirm that you\'ve configured the correct host.' } };
    }
    if (request.method === 'POST' && request.path === '/api/public/otel/v1/traces') return acceptOtlp(request, this.spans, this.exportHeaders);
    const promptMatch = /^\/api\/public\/v2\/prompts\/([^/]+)$/.exec(request.path);
    if (request.method === 'GET' && promptMatch) return this.getPrompt(decodeURIComponent(promptMatch[1] as string), request.query, request.headers.traceparent);
    const versionMatch = /^\/api\/public\/v2\/prompts\/([^/]+)\/versions\/(\d+)$/.exec(request.path);
    if (request.method === 'PATCH' && versionMatch) return this.updateLabels(decodeURIComponent(versionMatch[1] as string), Number(versionMatch[2]), request.body);
    if (request.method === 'POST' && request.path === '/api/public/scores') return this.postScore(request.body);
    if (request.method === 'POST' && request.path === '/api/public/ingestion') return this.ingest(request.body);
    if (request.method === 'GET' && request.path === '/api/public/scores') return { status: 200, body: { data: this.scores, meta: { totalItems: this.scores.length } } };
    return { status: 404, body: { message: 'not found' } };
  }

  private authorized(header: string | undefined): boolean {
    if (header === undefined || !header.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${this.publicKey}:${this.secretKey}`;
  }

  /**
   * `PATCH /api/public/v2/prompts/{name}/versions/{version}` with `{ newLabels }`, as Langfuse
   * answers it: each label moves to that version (off the others), `latest` is refused; the
   * updated prompt is the answer. Recorded in {@link labelUpdates}.
   */
  private updateLabels(name: string, version: number, body: Buffer): Reply {
    let parsed: { newLabels?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as { newLabels?: unknown };
    } catch {
      return { status: 400, body: { message: 'body is not JSON' } };
    }
    const labels = parsed.newLabels;
    if (!Array.isArray(labels) || !labels.every((l): l is string => typeof l === 'string')) return { status: 400, body: { message: 'newLabels must be an array of strings' } };
    if (labels.includes('latest')) return { status: 400, body: { message: "Label 'latest' is always assigned to the latest prompt version" } };
    const target = this.prompts.find((p) => p.name === name && p.version === version);
    if (target === undefined) return { status: 404, body: { message: `Prompt not found: '${name}' with version ${version}`, error: 'LangfuseNotFoundError' } };
    for (const label of labels) this.setLabel(name, label, version);
    this.labelUpdates.push({ name, version, newLabels: labels });
    return { status: 200, body: target };
  }

  private getPrompt(name: string, query: URLSearchParams, traceparent: string | string[] | undefined): Reply {
    const versions = this.prompts.filter((p) => p.name === name);
    const version = query.get('version');
    const label = query.get('label') ?? (version === null ? 'production' : null);
    let found: LangfusePrompt | undefined;
    if (version !== null) found = versions.find((p) => p.version === Number(version));
    else found = versions.filter((p) => p.labels.includes(label as string)).sort((a, b) => b.version - a.version)[0];
    const reply: Reply = found === undefined
      ? { status: 404, body: { message: `Prompt not found: '${name}'${version !== null ? ` with version ${version}` : ` with label ${label}`}`, error: 'LangfuseNotFoundError' } }
      : { status: 200, body: found };
    this.promptRequests.push({ name, version, label: version === null ? label : null, status: reply.status, traceparent: typeof traceparent === 'string' ? traceparent : undefined });
    return reply;
  }

  /**
   * The batch ingestion API `@langfuse/client` sends scores through: `{ batch: [{ id, type,
   * timestamp, body }] }`, answered 207 with a success or an error per event, as Langfuse does.
   */
  private ingest(body: Buffer): Reply {
    let parsed: { batch?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as { batch?: unknown };
    } catch {
      return { status: 400, body: { message: 'invalid JSON' } };
    }
    if (!Array.isArray(parsed.batch)) return { status: 400, body: { message: 'batch must be an array' } };
    const successes: { id: string; status: number }[] = [];
    const errors: { id: string; status: number; message: string }[] = [];
    for (const event of parsed.batch as { id?: string; type?: string; body?: Partial<LangfuseScore> }[]) {
      const id = String(event.id ?? '');
      const score = event.body;
      if (event.type !== 'score-create' || score === undefined) {
        errors.push({ id, status: 400, message: `unsupported event type ${String(event.type)}` });
      } else if (typeof score.name !== 'string' || (typeof score.value !== 'number' && typeof score.value !== 'string')) {
        errors.push({ id, status: 400, message: 'a score needs a name and a value' });
      } else {
        this.scores.push({ ...score, id: score.id ?? randomUUID() } as LangfuseScore);
        successes.push({ id, status: 201 });
      }
    }
    return { status: 207, body: { successes, errors } };
  }

  /** Waits until `predicate` holds for the scores received so far. */
  waitForScores(predicate: (scores: LangfuseScore[]) => boolean, timeoutMs = RECEIVE_TIMEOUT_MS): Promise<LangfuseScore[]> {
    return waitFor(() => predicate(this.scores) && this.scores, timeoutMs, 'scores at the Langfuse server');
  }

  private postScore(body: Buffer): Reply {
    const score = JSON.parse(body.toString('utf8')) as Partial<LangfuseScore>;
    if (typeof score.name !== 'string' || (typeof score.value !== 'number' && typeof score.value !== 'string')) {
      return { status: 400, body: { message: 'a score needs a name and a value' } };
    }
    const stored = { ...score, id: score.id ?? randomUUID() } as LangfuseScore;
    this.scores.push(stored);
    return { status: 200, body: { id: stored.id } };
  }
}
