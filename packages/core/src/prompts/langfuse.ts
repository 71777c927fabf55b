import { loadOptional } from '../exporters/optional';
import { isChatItem, makePrompt, type ChatMessage, type ChatPlaceholder, type Prompt } from './prompt';
import type { PromptSelection } from './local';
import { untraced } from '../tracing/untraced';

type LangfuseClientModule = typeof import('@langfuse/client');
type Api = InstanceType<LangfuseClientModule['LangfuseClient']>['api'];

/** Settings of the Langfuse prompt source, resolved. */
export interface LangfusePromptConfig {
  publicKey: string;
  secretKey: string;
  baseUrl: string;
  /** How long a fetched prompt is fresh, ms. */
  cacheTtlMs: number;
  /** Timeout of one fetch, ms. */
  fetchTimeoutMs: number;
  /** Retries of one fetch. */
  maxRetries: number;
  /** After a failed fetch, how long requests get the stale or fallback prompt without fetching again, ms. */
  retryAfterMs: number;
}

/** What happened to one get: served fresh from the cache, stale while revalidating, fetched, or failed. */
export type FetchResult = 'hit' | 'stale' | 'miss' | 'error';

interface Entry {
  prompt: Prompt;
  /** `Date.now()` after which the entry is stale (served while one refresh runs). */
  freshUntil: number;
  refreshing: boolean;
}

/** Why a Langfuse prompt could not be had: the API's answer, or the network's error. */
export class PromptFetchError extends Error {
  constructor(message: string, readonly notFound: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PromptFetchError';
  }
}

/**
 * Langfuse prompt management through `@langfuse/client`'s API client
 * (`GET /api/public/v2/prompts/{name}?version=&label=`), with a cache of llmscope's own:
 * - fresh for `cacheTtlMs`: no HTTP call;
 * - then stale-while-revalidate: the cached prompt is served at once and one refresh runs in the
 *   background (a failed refresh keeps the stale prompt and retries after `retryAfterMs`);
 * - nothing cached: one fetch (concurrent requests share it), bounded by `fetchTimeoutMs`; when it
 *   fails, the caller serves a fallback, and for `retryAfterMs` further requests get the failure
 *   at once instead of waiting on a Langfuse that is down.
 */
export class LangfuseSource {
  private readonly api: Api;
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Prompt>>();
  /** Keys whose last fetch failed: the failure and until when it is repeated without fetching. */
  private readonly failed = new Map<string, { error: PromptFetchError; until: number }>();
  /** Counts what each get did (for the fetch metric). */
  onResult: ((result: FetchResult) => void) | undefined;

  constructor(readonly config: LangfusePromptConfig) {
    const { LangfuseClient } = loadOptional<LangfuseClientModule>('@langfuse/client', 'Langfuse prompts (`prompts.langfuse`)');
    this.api = new LangfuseClient({ publicKey: config.publicKey, secretKey: config.secretKey, baseUrl: config.baseUrl }).api;
  }

  /** The prompt asked for; rejects with a {@link PromptFetchError} when Langfuse cannot give it and nothing is cached. */
  get(name: string, selection: PromptSelection): Promise<Prompt> {
    const key = selection.version !== undefined ? `${name}\u0000v:${selection.version}` : `${name}\u0000l:${selection.label ?? 'production'}`;
    const entry = this.cache.get(key);
    const now = Date.now();
    if (entry !== undefined) {
      if (now <= entry.freshUntil) {
        this.onResult?.('hit');
      } else {
        this.onResult?.('stale');
        if (!entry.refreshing) this.refresh(key, name, selection, entry);
      }
      return Promise.resolve(entry.prompt);
    }
    const failed = this.failed.get(key);
    if (failed !== undefined && now < failed.until) {
      this.onResult?.('error');
      return Promise.reject(failed.error);
    }
    return this.fetch(key, name, selection);
  }

  /** The cached version for a selection, fresh or stale, without fetching (for synchronous callers). */
  cached(name: string, selection: PromptSelection): Prompt | undefined {
    const key = selection.version !== undefined ? `${name}\u0000v:${selection.version}` : `${name}\u0000l:${selection.label ?? 'production'}`;
    return this.cache.get(key)?.prompt;
  }

  /** Forgets every cached version of `name` (after moving a label, for instance). */
  invalidate(name: string): void {
    const prefix = `${name}\u0000`;
    for (const key of this.cache.keys()) if (key.startsWith(prefix)) this.cache.delete(key);
    for (const key of this.failed.keys()) if (key.startsWith(prefix)) this.failed.delete(key);
  }

  /**
   * Moves `label` of prompt `name` to `version` through Langfuse's API: reads the version's labels,
   * then `PATCH /api/public/v2/prompts/{name}/versions/{version}` with `newLabels` (those labels and
   * `label`; Langfuse takes `label` off the version that had it), then forgets this process's cached copies so its next get
   * fetches. Rejects when Langfuse refuses or cannot be reached (the caller logs).
   */
  async moveLabel(name: string, version: string, label: string): Promise<void> {
    const v = Number(version);
    if (!Number.isInteger(v)) throw new PromptFetchError(`Langfuse prompt versions are integers; ${JSON.stringify(version)} is not one`, true);
    const options = { timeoutInSeconds: this.config.fetchTimeoutMs / 1000, maxRetries: this.config.maxRetries };
    // The version's own labels are sent along: whether Langfuse adds `newLabels` to them or
    // replaces them, the baseline keeps its other labels (`latest` is Langfuse's to manage).
    const current = await untraced(() => this.api.prompts.get(name, { version: v }, options));
    const labels = [...new Set([...(current.labels ?? []).filter((l) => l !== 'latest'), label])];
    await untraced(() => this.api.promptVersion.update(name, v, { newLabels: labels }, options));
    this.invalidate(name);
  }

  private fetch(key: string, name: string, selection: PromptSelection): Promise<Prompt> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const promise = this.request(name, selection).then((prompt) => {
      this.cache.set(key, { prompt, freshUntil: Date.now() + this.config.cacheTtlMs, refreshing: false });
      this.failed.delete(key);
      this.onResult?.('miss');
      return prompt;
    }, (error: unknown) => {
      const failure = fetchError(name, selection, error);
      this.failed.set(key, { error: failure, until: Date.now() + this.config.retryAfterMs });
      this.onResult?.('error');
      throw failure;
    }).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  private refresh(key: string, name: string, selection: PromptSelection, entry: Entry): void {
    entry.refreshing = true;
    this.request(name, selection).then((prompt) => {
      this.cache.set(key, { prompt, freshUntil: Date.now() + this.config.cacheTtlMs, refreshing: false });
    }, () => {
      // Langfuse is down or slow: the stale prompt keeps serving; try again later.
      entry.refreshing = false;
      entry.freshUntil = Date.now() + this.config.retryAfterMs;
    });
  }

  private async request(name: string, selection: PromptSelection): Promise<Prompt> {
    const version = selection.version === undefined ? undefined : Number(selection.version);
    if (version !== undefined && !Number.isInteger(version)) {
      throw new PromptFetchError(`Langfuse prompt versions are integers; ${JSON.stringify(selection.version)} is not one`, true);
    }
    // llmscope's own traffic: no CLIENT span or traceparent on the app's request for it.
    const data = await untraced(() => this.api.prompts.get(name, version !== undefined ? { version } : { label: selection.label ?? 'production' }, {
      timeoutInSeconds: this.config.fetchTimeoutMs / 1000,
      maxRetries: this.config.maxRetries,
    }));
    const prompt = (data as { prompt?: unknown }).prompt;
    const valid = typeof prompt === 'string' || (Array.isArray(prompt) && prompt.every(isChatItem));
    if (!valid) throw new PromptFetchError(`Langfuse answered prompt ${JSON.stringify(name)} with neither a text nor chat messages`, false);
    return makePrompt({
      name: data.name,
      version: String(data.version),
      prompt: prompt as string | (ChatMessage | ChatPlaceholder)[],
      config: isRecord(data.config) ? data.config : {},
      labels: data.labels,
    }, 'langfuse');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fetchError(name: string, selection: PromptSelection, error: unknown): PromptFetchError {
  if (error instanceof PromptFetchError) return error;
  const status = (error as { statusCode?: unknown }).statusCode;
  const what = selection.version !== undefined ? `version ${selection.version}` : `label ${selection.label ?? 'production'}`;
  const notFound = status === 404;
  const reason = notFound ? 'Langfuse has no such prompt' : typeof status === 'number' ? `Langfuse answered ${status}` : `Langfuse could not be reached (${error instanceof Error ? error.message : String(error)})`;
  return new PromptFetchError(`prompt ${JSON.stringify(name)} (${what}): ${reason}`, notFound, { cause: error });
}
