import type { BudgetWindow } from './windows';

/** Which kind of budget a call ran into. */
export type BudgetScope = 'total' | 'feature' | 'user';

/** What a budget counts. */
export type BudgetUnit = 'usd' | 'tokens';

/**
 * Thrown by `traceLLM()` and the instrumented SDK clients, before the provider is called, when a
 * budget is exhausted and `budgets.onExhausted` says `reject`. It carries `status`/`statusCode`
 * 429 and a `Retry-After` header (seconds to the window's end), so Express, Fastify and NestJS
 * answer 429 through their usual error handling, as the node adapter does (NestJS without the
 * header). Never carries the
 * user id (the message says only that it is a per-user budget).
 */
export class BudgetExceededError extends Error {
  /** `BudgetExceededError`. */
  override readonly name = 'BudgetExceededError';
  /** 429, read by Express' final handler. */
  readonly status = 429;
  /** 429, read by Fastify's and NestJS' error handling. */
  readonly statusCode = 429;
  /**
   * `false`, as the `http-errors` convention has it for messages the client should not see:
   * NestJS then answers `Too Many Requests` rather than the budget's figures.
   */
  readonly expose = false;
  /** Response headers set by Express and Fastify: `retry-after` in whole seconds. */
  readonly headers: Record<string, string>;

  constructor(
    /** `total`, `feature` or `user`. */
    readonly scope: BudgetScope,
    /** The feature of the budget (`feature` scope), else undefined. */
    readonly feature: string | undefined,
    /** `daily` or `monthly` (UTC). */
    readonly window: BudgetWindow,
    /** `usd` or `tokens`. */
    readonly unit: BudgetUnit,
    /** The budget. */
    readonly limit: number,
    /** Spent in the window when the call was refused. */
    readonly spent: number,
    /** When the window ends and the budget is available again. */
    readonly resetsAt: Date,
    /** The clock's time, for `retry-after`. */
    now: number,
  ) {
    const which = scope === 'total' ? 'total' : scope === 'user' ? 'per-user' : `feature ${JSON.stringify(feature)}`;
    super(`llmscope: the ${window} ${unit === 'usd' ? 'USD' : 'token'} budget (${which}) is exhausted: ${round(spent)} of ${round(limit)} used; it resets at ${resetsAt.toISOString()}.`);
    this.headers = { 'retry-after': String(Math.max(1, Math.ceil((resetsAt.getTime() - now) / 1000))) };
  }
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(6).replace(/0+$/, '');
}
