import { calcPrice, findProvider, type ModelInfo, type ModelPrice as TablePrice, type TieredPrices } from '@pydantic/genai-prices';
import type { LlmUsage } from '../usage';
import type { ResolvedLlmOptions } from '../options';

/** OpenTelemetry `gen_ai.provider.name` values → provider ids of the genai-prices table. */
const PROVIDER_IDS: Record<string, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  'aws.bedrock': 'aws',
  'azure.ai.openai': 'azure',
  'azure.ai.inference': 'azure',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  mistral_ai: 'mistral',
  x_ai: 'x-ai',
  groq: 'groq',
  deepseek: 'deepseek',
  cohere: 'cohere',
  perplexity: 'perplexity',
};

type Rate = number | TieredPrices | undefined;

/** Prices of one model, resolved once and reused for every call. */
interface PriceEntry {
  input: Rate;
  output: Rate;
  cacheRead: Rate;
  cacheWrite: Rate;
  /** Reasoning output tokens, when the table prices them apart (else the output rate). */
  reasoning: Rate;
  /** USD per 1000 requests (a few providers charge per call too). */
  perKiloRequest: number;
  contextWindow: number | undefined;
  /** Time-of-day prices change within a day: those calls go through calcPrice every time. */
  slow: { model: string; providerId: string } | undefined;
  /** `Date.now()` after which the entry must be looked up again (a dated price change), or Infinity. */
  validUntil: number;
}

function isTiered(rate: Rate): rate is TieredPrices {
  return typeof rate === 'object' && rate !== null;
}

/** genai-prices applies the tier reached by the call's total input tokens to all its tokens. */
function perMTok(rate: Rate, inputTotal: number): number | undefined {
  if (rate === undefined) return undefined;
  if (!isTiered(rate)) return rate;
  let price = rate.base;
  for (const tier of rate.tiers) if (inputTotal > tier.start) price = tier.price;
  return price;
}

/** The price list active at `now`, and until when; `undefined` when it depends on the time of day. */
function activePrices(model: ModelInfo, now: number): { prices: TablePrice; validUntil: number } | undefined {
  if (!Array.isArray(model.prices)) return { prices: model.prices, validUntil: Infinity };
  let validUntil = Infinity;
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const entry = model.prices[i];
    if (entry === undefined) continue;
    const c = entry.constraint;
    if (c === undefined) return { prices: entry.prices, validUntil };
    if (c.type !== 'start_date') return undefined;
    const start = Date.parse(`${c.start_date}T00:00:00Z`);
    if (now >= start) return { prices: entry.prices, validUntil };
    validUntil = Math.min(validUntil, start);
  }
  const first = model.prices[0];
  return first === undefined ? undefined : { prices: first.prices, validUntil };
}

function rateOf(value: unknown): Rate {
  return typeof value === 'number' || isTiered(value as Rate) ? (value as Rate) : undefined;
}

function fromTable(provider: string, model: string, now: number): PriceEntry | undefined {
  const mapped = PROVIDER_IDS[provider] ?? provider;
  // A provider the table does not know (self-hosted, a gateway): match on the model id alone.
  const providerId = findProvider({ providerId: mapped }) !== undefined ? mapped : undefined;
  const probe = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, providerId === undefined ? undefined : { providerId });
  if (probe === null) return undefined;
  const active = activePrices(probe.model, now);
  const contextWindow = probe.model.context_window;
  if (active === undefined) {
    return {
      input: undefined, output: undefined, cacheRead: undefined, cacheWrite: undefined, reasoning: undefined, perKiloRequest: 0,
      contextWindow, slow: { model, providerId: probe.provider.id }, validUntil: Infinity,
    };
  }
  const p = active.prices;
  return {
    input: rateOf(p.input_mtok),
    output: rateOf(p.output_mtok),
    cacheRead: rateOf(p.cache_read_mtok),
    cacheWrite: rateOf(p.cache_write_mtok),
    reasoning: rateOf(p.output_reasoning_mtok),
    perKiloRequest: typeof p.requests_kcount === 'number' ? p.requests_kcount : 0,
    contextWindow,
    slow: undefined,
    validUntil: active.validUntil,
  };
}

/** Shared by every instance: the table is the same for all, and lookups cost ~40 µs uncached. */
const tableCache = new Map<string, PriceEntry | null>();
const MAX_CACHED_MODELS = 2000;

/**
 * Prices LLM calls: the app's `llm.prices` overrides first (exact `provider:model`, then
 * `model`), then the `@pydantic/genai-prices` table bundled with the package (no network). Each
 * (provider, model) is looked up once and cached, so a priced call costs a map lookup and a few
 * multiplications.
 */
export class PriceBook {
  private readonly overrides: Map<string, PriceEntry>;

  constructor(overrides: ResolvedLlmOptions['prices'] = new Map()) {
    this.overrides = new Map();
    for (const [key, p] of overrides) {
      this.overrides.set(key, {
        input: p.inputPerMTok, output: p.outputPerMTok, cacheRead: p.cacheReadPerMTok, cacheWrite: p.cacheWritePerMTok,
        reasoning: p.reasoningPerMTok, perKiloRequest: 0, contextWindow: p.contextWindow, slow: undefined, validUntil: Infinity,
      });
    }
  }

  private override(provider: string, model: string): PriceEntry | undefined {
    return this.overrides.get(`${provider}:${model}`) ?? this.overrides.get(model);
  }

  private entry(provider: string, model: string): PriceEntry | undefined {
    if (this.overrides.size > 0) {
      const o = this.override(provider, model);
      if (o !== undefined) return o;
    }
    const key = `${provider}\u0000${model}`;
    let e = tableCache.get(key);
    if (e === undefined || (e !== null && e.validUntil <= Date.now())) {
      try {
        e = fromTable(provider, model, Date.now()) ?? null;
      } catch {
        // A table entry the library cannot price must not fail the app's call.
        e = null;
      }
      if (tableCache.size >= MAX_CACHED_MODELS) tableCache.clear();
      tableCache.set(key, e);
    }
    return e ?? undefined;
  }

  /** Whether the model has a price (an override or a table entry). */
  has(provider: string, model: string): boolean {
    return this.entry(provider, model) !== undefined;
  }

  /** Context window of the model in tokens, when known. */
  contextWindow(provider: string, model: string): number | undefined {
    return this.entry(provider, model)?.contextWindow;
  }

  /**
   * Cost of a call in USD, or `undefined` when the model has no price (never 0 for "unknown").
   * Cached input and reasoning output are priced at their own rates where the model has them.
   * `models` are tried in order (the response model is more specific than the requested one).
   */
  cost(provider: string, models: readonly (string | undefined)[], usage: LlmUsage | undefined): number | undefined {
    if (usage === undefined) return undefined;
    const input = usage.inputTokens ?? 0;
    const output = usage.outputTokens ?? 0;
    // The app's overrides win over the table whichever model name they match.
    let e: PriceEntry | undefined;
    if (this.overrides.size > 0) {
      for (const model of models) if (e === undefined && model !== undefined) e = this.override(provider, model);
    }
    for (const model of models) {
      if (model === undefined) continue;
      e ??= this.entry(provider, model);
      if (e === undefined) continue;
      if (e.slow !== undefined) return slowCost(e.slow, usage);
      const cacheRead = Math.min(usage.cacheReadTokens ?? 0, input);
      const cacheWrite = Math.min(usage.cacheCreationTokens ?? 0, input - cacheRead);
      const reasoning = Math.min(usage.reasoningTokens ?? 0, output);
      const inRate = perMTok(e.input, input) ?? 0;
      const outRate = perMTok(e.output, input) ?? 0;
      const usd = (input - cacheRead - cacheWrite) * inRate
        + cacheRead * (perMTok(e.cacheRead, input) ?? inRate)
        + cacheWrite * (perMTok(e.cacheWrite, input) ?? inRate)
        + (output - reasoning) * outRate
        + reasoning * (perMTok(e.reasoning, input) ?? outRate);
      return usd / 1e6 + e.perKiloRequest / 1000;
    }
    return undefined;
  }
}

function slowCost(slow: { model: string; providerId: string }, usage: LlmUsage): number | undefined {
  try {
    const r = calcPrice({
      input_tokens: usage.inputTokens ?? 0,
      output_tokens: usage.outputTokens ?? 0,
      cache_read_tokens: usage.cacheReadTokens,
      cache_write_tokens: usage.cacheCreationTokens,
    }, slow.model, { providerId: slow.providerId });
    return r === null ? undefined : r.total_price;
  } catch {
    return undefined;
  }
}

/** The price book used when no llmscope instance exists (no overrides). */
export const defaultPriceBook = new PriceBook();
