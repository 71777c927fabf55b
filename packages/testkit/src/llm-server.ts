import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  anthropicError, chatCompletion, chatCompletionChunks, embeddings, message, messageEvents, openaiError, response,
  responseEvents, splitText, type AnswerContent, type ScriptedUsage,
} from './llm-wire';
import { embedContents, generateContent, generateContentChunks, geminiError } from './gemini-wire';

export type { ScriptedUsage } from './llm-wire';

/**
 * How the server answers one request. Every field is optional; unset fields take the server's
 * defaults ({@link LlmServer.defaults}).
 */
export interface LlmScript {
  /** An error status (401, 429, 500, 503, ...) answered with the provider's error body. */
  status?: number;
  /** Error message of an error answer. */
  errorMessage?: string;
  /** `retry-after` header (seconds, may be fractional) of an error answer. */
  retryAfterSeconds?: number;
  /** `x-should-retry` header: forces the SDK to retry (or not) whatever the status. */
  shouldRetry?: boolean;
  /** Answer text. Default "Hello from the llmscope testkit." */
  text?: string;
  /** Number of pieces a streamed answer's text is sent in. Default 4. */
  chunks?: number;
  /** Usage reported, as the provider reports it; `false` sends none (and no usage chunk in streams). */
  usage?: ScriptedUsage | false;
  /** `model` of the answer. Default: the requested model. */
  model?: string;
  /** Finish / stop reason. Default `stop` (OpenAI), `end_turn` (Anthropic) or `STOP` (Gemini). */
  finishReason?: string;
  /** Delay before the response headers (a slow server: the SDK's `timeout` fires). */
  headersDelayMs?: number;
  /** Streams: delay between the headers and the first chunk (a slow first token). */
  firstChunkDelayMs?: number;
  /** Streams: delay between later chunks. */
  chunkDelayMs?: number;
  /** Embeddings: vector length. Default 8. */
  dimensions?: number;
}

/** One request as the server received it. */
export interface LlmRequest {
  /**
   * `chat`, `responses`, `embeddings` (OpenAI), `messages` (Anthropic), `generateContent`,
   * `streamGenerateContent`, `embedContent` (Gemini, `batchEmbedContents` included); `unknown` for
   * other paths.
   */
  api: 'chat' | 'responses' | 'embeddings' | 'messages' | 'generateContent' | 'streamGenerateContent' | 'embedContent' | 'unknown';
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body. */
  body: Record<string, unknown>;
  /** How the server answered (status). */
  status: number;
}

const DEFAULTS: Required<Pick<LlmScript, 'text' | 'chunks' | 'dimensions'>> & { usage: ScriptedUsage } = {
  text: 'Hello from the llmscope testkit.',
  chunks: 4,
  dimensions: 8,
  usage: { input: 12, output: 7 },
};

/**
 * A local, scriptable LLM server speaking the real HTTP APIs of OpenAI (`POST /v1/chat/completions`,
 * `/v1/responses`, `/v1/embeddings`), Anthropic (`POST /v1/messages`) and Gemini
 * (`POST /v1/models/{model}:generateContent` or `/v1beta/...`, `:streamGenerateContent?alt=sse`,
 * `:embedContent`, `:batchEmbedContents`), including SSE streaming with the real event formats,
 * so that the official `openai`, `@anthropic-ai/sdk` and `@google/genai` clients (and the AI
 * SDK's providers) run unmodified against it:
 *
 * ```ts
 * const llm = await LlmServer.start();
 * const openai = new OpenAI({ apiKey: 'test', baseURL: llm.openaiBaseURL });
 * const anthropic = new Anthropic({ apiKey: 'test', baseURL: llm.anthropicBaseURL });
 * const gemini = new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: llm.geminiBaseURL } });
 * llm.enqueue({ status: 429, retryAfterSeconds: 0.01 }, { usage: { input: 10, output: 3 } });
 * ```
 *
 * Each request consumes the next queued {@link LlmScript}; with the queue empty, the defaults
 * answer. It listens on 127.0.0.1 and a random port.
 */
export class LlmServer {
  /** Defaults for every answer; change them per test. */
  defaults: LlmScript = {};
  /** Requests received, in order. */
  readonly requests: LlmRequest[] = [];
  private readonly queue: LlmScript[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private counter = 0;

  private constructor(private readonly server: Server, readonly url: string) {}

  /** Starts a server on 127.0.0.1 and a random free port. */
  static async start(): Promise<LlmServer> {
    let self: LlmServer | undefined;
    const server = createServer((req, res) => {
      self?.handle(req, res);
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new LlmServer(server, `http://127.0.0.1:${port}`);
    const s = self;
    server.on('connection', (socket: Socket) => {
      s.sockets.add(socket);
      socket.on('close', () => s.sockets.delete(socket));
    });
    return self;
  }

  /** `baseURL` for `new OpenAI({ baseURL })`. */
  get openaiBaseURL(): string {
    return `${this.url}/v1`;
  }

  /** `baseURL` for `new Anthropic({ baseURL })`. */
  get anthropicBaseURL(): string {
    return this.url;
  }

  /** `httpOptions.baseUrl` for `new GoogleGenAI({ httpOptions: { baseUrl } })` (the Gemini API). */
  get geminiBaseURL(): string {
    return this.url;
  }

  /** Queues answers for the next requests, in order. */
  enqueue(...scripts: LlmScript[]): this {
    this.queue.push(...scripts);
    return this;
  }

  /** Forgets queued answers and received requests, restores the defaults and restarts answer ids. */
  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
    this.defaults = {};
    this.counter = 0;
  }

  /** Stops the server, ending open connections and pending delays. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private delay(ms: number | undefined, res: ServerResponse): Promise<boolean> {
    if (ms === undefined || ms <= 0) return Promise.resolve(!res.destroyed);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(!res.destroyed && !res.socket?.destroyed);
      }, ms);
      this.timers.add(t);
      // A client that gave up (timeout, abort) ends the wait early.
      res.once('close', () => {
        if (this.timers.delete(t)) {
          clearTimeout(t);
          resolve(false);
        }
      });
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.length > 0) body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Not JSON: answered as a 400 below.
      }
      this.answer(req, res, body).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.end();
      });
    });
  }

  private async answer(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const api: LlmRequest['api'] = path.endsWith('/chat/completions') ? 'chat'
      : path.endsWith('/responses') ? 'responses'
        : path.endsWith('/embeddings') ? 'embeddings'
          : path.endsWith('/messages') ? 'messages'
            : path.endsWith(':generateContent') ? 'generateContent'
              : path.endsWith(':streamGenerateContent') ? 'streamGenerateContent'
                : path.endsWith(':embedContent') || path.endsWith(':batchEmbedContents') ? 'embedContent' : 'unknown';
    // Gemini names the model in the path: /v1beta/models/{model}:{method}.
    const gemini = api === 'generateContent' || api === 'streamGenerateContent' || api === 'embedContent';
    const pathModel = gemini ? path.slice(path.lastIndexOf('/') + 1, path.lastIndexOf(':')) : undefined;
    const script: LlmScript = { ...this.defaults, ...(this.queue.shift() ?? {}) };
    const record: LlmRequest = { api, path, headers: req.headers, body, status: 200 };
    this.requests.push(record);
    if (!(await this.delay(script.headersDelayMs, res))) return;
    if (api === 'unknown' || req.method !== 'POST') {
      record.status = 404;
      this.json(res, 404, this.error(api, 404, `no route ${path}`));
      return;
    }
    if (script.status !== undefined && script.status >= 400) {
      record.status = script.status;
      const headers: Record<string, string> = {};
      if (script.retryAfterSeconds !== undefined) headers['retry-after'] = String(script.retryAfterSeconds);
      if (script.shouldRetry !== undefined) headers['x-should-retry'] = String(script.shouldRetry);
      const msg = script.errorMessage ?? `testkit error ${script.status}`;
      this.json(res, script.status, this.error(api, script.status, msg), headers);
      return;
    }
    const requestedModel = pathModel ?? (typeof body.model === 'string' ? body.model : 'unknown');
    const text = script.text ?? DEFAULTS.text;
    this.counter++;
    const prefix = api === 'chat' ? 'chatcmpl-' : api === 'responses' ? 'resp_' : gemini ? 'gemini-' : 'msg_';
    const content: AnswerContent = {
      id: `${prefix}testkit${this.counter}`,
      model: script.model ?? requestedModel,
      text,
      pieces: splitText(text, script.chunks ?? DEFAULTS.chunks),
      usage: script.usage === false ? undefined : script.usage ?? DEFAULTS.usage,
      finishReason: script.finishReason,
      created: Math.floor(Date.now() / 1000),
    };
    if (api === 'embeddings') {
      const input = body.input;
      const inputs = Array.isArray(input) ? input.map(String) : [String(input ?? '')];
      this.json(res, 200, embeddings(content.model, inputs, script.dimensions ?? DEFAULTS.dimensions, body.encoding_format === 'base64', content.usage));
      return;
    }
    if (api === 'embedContent') {
      this.json(res, 200, embedContents(body, script.dimensions ?? DEFAULTS.dimensions));
      return;
    }
    if (api === 'generateContent') {
      if (!(await this.delay(script.firstChunkDelayMs, res))) return;
      this.json(res, 200, generateContent(content));
      return;
    }
    if (body.stream !== true && api !== 'streamGenerateContent') {
      const answer = api === 'chat' ? chatCompletion(content) : api === 'responses' ? response(content) : message(content);
      if (!(await this.delay(script.firstChunkDelayMs, res))) return;
      this.json(res, 200, answer);
      return;
    }
    let events: [string | undefined, string][];
    if (api === 'chat') {
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      events = chatCompletionChunks(content, includeUsage).map((d) => [undefined, d]);
    } else if (api === 'streamGenerateContent') {
      events = generateContentChunks(content).map((d) => [undefined, d]);
    } else {
      events = api === 'responses' ? responseEvents(content) : messageEvents(content);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    for (let i = 0; i < events.length; i++) {
      const ms = i === 0 ? script.firstChunkDelayMs : script.chunkDelayMs;
      if (!(await this.delay(ms, res))) return;
      const [event, data] = events[i] as [string | undefined, string];
      res.write(event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`);
    }
    res.end();
  }

  /** The error body of the API asked. */
  private error(api: LlmRequest['api'], status: number, message: string): unknown {
    if (api === 'messages') return anthropicError(status, message);
    if (api === 'generateContent' || api === 'streamGenerateContent' || api === 'embedContent') return geminiError(status, message);
    return openaiError(status, message);
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
}
