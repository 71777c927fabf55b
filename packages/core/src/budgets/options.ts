import { configError, field, func, invalid, nonNegativeNumber, object, oneOf, positiveInt, record, entry } from '../config/validate';
import type { BudgetScope, BudgetUnit } from './errors';
import type { BudgetWindow } from './windows';

/** Limits of one window: US dollars, tokens (input + output), or both. */
export interface BudgetLimits {
  /** Spend in US dollars (priced calls, as in `llmscope_llm_cost_usd_total`). */
  usd?: number;
  /** Tokens, input (cached included) plus output. */
  tokens?: number;
}

/** Daily and monthly limits of one budget. Windows are UTC calendar days and months. */
export interface BudgetWindows {
  /** Limits of each UTC calendar day. */
  daily?: BudgetLimits;
  /** Limits of each UTC calendar month. */
  monthly?: BudgetLimits;
}

/** The budget exhausted when a call starts, given to an `onExhausted` function. */
export interface BudgetExhaustion {
  /** Which budget: `total`, `feature` or `user`. */
  scope: BudgetScope;
  /** The budget's feature (`feature` scope), else undefined. */
  feature: string | undefined;
  /** The user (`user` scope), else undefined. Never a metric label. */
  userId: string | undefined;
  /** `daily` or `monthly` (UTC). */
  window: BudgetWindow;
  /** `usd` or `tokens`. */
  unit: BudgetUnit;
  /** The budget. */
  limit: number;
  /** Spent in the window so far (at or above `limit`). */
  spent: number;
  /** When the window ends. */
  resetsAt: Date;
  /** The model of the call about to be made. */
  model: string;
  /** Its provider, when given. */
  provider: string | undefined;
}

/**
 * What to do with a call whose budget is exhausted: `allow` (call), `warn` (call; the warning is
 * emitted once per budget and window anyway), `reject` (throw `BudgetExceededError`, answered 429),
 * or `{ model }` (call this cheaper model instead).
 */
export type BudgetAction = 'allow' | 'warn' | 'reject' | { model: string };

/** Budgets of LLM spend and tokens (`budgets` in the adapters' options). See docs/ops.md. */
export interface BudgetsOptions {
  /** All LLM calls of the instance together. */
  total?: BudgetWindows;
  /** Per feature, keyed by the feature name (`setFeature()`, `traceLLM({ feature })`). */
  features?: Record<string, BudgetWindows>;
  /**
   * The same limits for each user (`setUser()`, `identify`, `x-user-id`), tracked in bounded
   * memory (the `maxUsers` most recently active users; an evicted user starts again from 0) and
   * never as metric labels.
   */
  perUser?: BudgetWindows & { maxUsers?: number };
  /**
   * When a call starts while one of its budgets is exhausted: `warn` (default: calls go on; a
   * warning is emitted once per budget and window), `reject` (throw `BudgetExceededError`
   * before the provider is called: a 429), or a function deciding per call, e.g. switching to a
   * cheaper model: `(e) => e.scope === 'user' ? 'reject' : { model: 'gpt-4o-mini' }`.
   */
  onExhausted?: 'warn' | 'reject' | ((exhausted: BudgetExhaustion) => BudgetAction);
  /** The clock, in ms since the epoch (tests move it across midnight). Default `Date.now`. */
  now?: () => number;
}

/** One window's limits after validation (at least one set). */
export interface ResolvedLimits {
  usd: number | undefined;
  tokens: number | undefined;
}

export type ResolvedWindows = Partial<Record<BudgetWindow, ResolvedLimits>>;

/** {@link BudgetsOptions} after validation; undefined when no budget is set. */
export interface ResolvedBudgets {
  total: ResolvedWindows | undefined;
  features: Map<string, ResolvedWindows>;
  perUser: ResolvedWindows | undefined;
  maxUsers: number;
  onExhausted: 'warn' | 'reject' | ((exhausted: BudgetExhaustion) => BudgetAction);
  now: () => number;
}

const KEYS = ['total', 'features', 'perUser', 'onExhausted', 'now'] as const;
const WINDOW_KEYS = ['daily', 'monthly'] as const;
const USER_KEYS = [...WINDOW_KEYS, 'maxUsers'] as const;
const LIMIT_KEYS = ['usd', 'tokens'] as const;
const LIMITS = 'an object such as { usd: 5 } or { usd: 5, tokens: 2000000 }';

function limits(at: string, value: unknown): ResolvedLimits | undefined {
  const o = object(at, value, LIMIT_KEYS, LIMITS);
  if (o === undefined) return undefined;
  const usd = nonNegativeNumber(field(at, 'usd'), o.usd, 'a budget in US dollars, a finite number >= 0 such as 5');
  const tokens = positiveInt(field(at, 'tokens'), o.tokens, 'a budget in tokens, a positive integer such as 2000000');
  if (usd === undefined && tokens === undefined) invalid(at, `${LIMITS} (usd, tokens or both)`, value);
  return { usd, tokens };
}

function windows(at: string, o: { daily?: unknown; monthly?: unknown }, value: unknown): ResolvedWindows {
  const daily = limits(field(at, 'daily'), o.daily);
  const monthly = limits(field(at, 'monthly'), o.monthly);
  if (daily === undefined && monthly === undefined) invalid(at, 'an object with `daily`, `monthly` or both, such as { daily: { usd: 5 } }', value);
  const out: ResolvedWindows = {};
  if (daily !== undefined) out.daily = daily;
  if (monthly !== undefined) out.monthly = monthly;
  return out;
}

/** Validates the `budgets` option. Throws {@link LlmscopeConfigError} with what to change. */
export function resolveBudgets(value: unknown): ResolvedBudgets | undefined {
  const o = object('budgets', value, KEYS, 'an object such as { total: { daily: { usd: 50 } } }');
  if (o === undefined) return undefined;
  const totalObject = object('budgets.total', o.total, WINDOW_KEYS);
  const total = totalObject === undefined ? undefined : windows('budgets.total', totalObject, o.total);
  const features = new Map<string, ResolvedWindows>();
  for (const [name, budget] of Object.entries(record('budgets.features', o.features, 'an object keyed by feature name, such as { chat: { daily: { usd: 5 } } }') ?? {})) {
    const at = entry('budgets.features', name);
    if (name.length === 0) invalid('budgets.features', 'keyed by non-empty feature names', name);
    const w = object(at, budget, WINDOW_KEYS, 'an object such as { daily: { usd: 5 } }') ?? {};
    features.set(name, windows(at, w, budget));
  }
  const userObject = object('budgets.perUser', o.perUser, USER_KEYS);
  const perUser = userObject === undefined ? undefined : windows('budgets.perUser', userObject, o.perUser);
  const maxUsers = positiveInt('budgets.perUser.maxUsers', userObject?.maxUsers) ?? 10_000;
  const onExhausted = typeof o.onExhausted === 'function'
    ? func<(exhausted: BudgetExhaustion) => BudgetAction>('budgets.onExhausted', o.onExhausted, '(exhausted) => action') as (exhausted: BudgetExhaustion) => BudgetAction
    : oneOf('budgets.onExhausted', o.onExhausted, ['warn', 'reject'] as const) ?? 'warn';
  const now = func<() => number>('budgets.now', o.now, '() => milliseconds since the epoch') ?? Date.now;
  if (total === undefined && features.size === 0 && perUser === undefined) {
    configError('option `budgets` sets no budget: give `total`, `features` or `perUser` limits, such as { total: { daily: { usd: 50 } } }, or leave `budgets` out.');
  }
  return { total, features, perUser, maxUsers, onExhausted, now };
}
