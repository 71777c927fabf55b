import type { BudgetUnit } from './errors';
import type { ResolvedWindows } from './options';
import { BUDGET_WINDOWS, type BudgetWindow, type WindowKeys } from './windows';

/** Spend of one budget (the total, a feature, a user) in the current day and month. */
export class Account {
  private day = Number.NaN;
  private month = Number.NaN;
  dayUsd = 0;
  dayTokens = 0;
  monthUsd = 0;
  monthTokens = 0;

  /** Starts new windows when the day or month changed since the last use. */
  roll(keys: WindowKeys): void {
    if (keys.day !== this.day) {
      this.day = keys.day;
      this.dayUsd = 0;
      this.dayTokens = 0;
    }
    if (keys.month !== this.month) {
      this.month = keys.month;
      this.monthUsd = 0;
      this.monthTokens = 0;
    }
  }

  /** Spent in `window` (call {@link roll} first). */
  spent(window: BudgetWindow, unit: BudgetUnit): number {
    if (window === 'daily') return unit === 'usd' ? this.dayUsd : this.dayTokens;
    return unit === 'usd' ? this.monthUsd : this.monthTokens;
  }

  add(usd: number, tokens: number): void {
    this.dayUsd += usd;
    this.monthUsd += usd;
    this.dayTokens += tokens;
    this.monthTokens += tokens;
  }
}

/** A limit that `account` has reached in its current windows, if any (`limits` in window order, usd first). */
export function exhausted(account: Account, limits: ResolvedWindows): { window: BudgetWindow; unit: BudgetUnit; limit: number; spent: number } | undefined {
  for (const window of BUDGET_WINDOWS) {
    const l = limits[window];
    if (l === undefined) continue;
    if (l.usd !== undefined && account.spent(window, 'usd') >= l.usd) return { window, unit: 'usd', limit: l.usd, spent: account.spent(window, 'usd') };
    if (l.tokens !== undefined && account.spent(window, 'tokens') >= l.tokens) return { window, unit: 'tokens', limit: l.tokens, spent: account.spent(window, 'tokens') };
  }
  return undefined;
}

/**
 * Accounts of users, at most `max`: the least recently active one is forgotten first (it starts
 * again from 0 if it comes back). A Map keeps insertion order, so moving a user to the end on
 * each call makes the first key the least recent.
 */
export class UserAccounts {
  private readonly accounts = new Map<string, Account>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.accounts.size;
  }

  /** The user's account, if tracked (not moved). */
  peek(userId: string): Account | undefined {
    return this.accounts.get(userId);
  }

  /** The user's account, created if needed, as the most recent. */
  touch(userId: string): Account {
    let account = this.accounts.get(userId);
    if (account !== undefined) {
      this.accounts.delete(userId);
    } else {
      account = new Account();
      if (this.accounts.size >= this.max) {
        const oldest = this.accounts.keys().next().value;
        if (oldest !== undefined) this.accounts.delete(oldest);
      }
    }
    this.accounts.set(userId, account);
    return account;
  }

  values(): IterableIterator<Account> {
    return this.accounts.values();
  }
}
