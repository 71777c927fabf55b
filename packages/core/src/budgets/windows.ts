/** Budget windows: calendar days and months in UTC, so every replica and every time zone agrees. */
export type BudgetWindow = 'daily' | 'monthly';

export const BUDGET_WINDOWS: readonly BudgetWindow[] = ['daily', 'monthly'];

const DAY_MS = 86_400_000;

/** The current UTC day and month as numbers (`day`: days since the epoch; `month`: year × 12 + month). */
export interface WindowKeys {
  readonly day: number;
  readonly month: number;
}

/**
 * Window keys from a clock. The month is derived from a `Date` only when the day changes, so a
 * call costs one division and one comparison.
 */
export class WindowClock {
  private keys: WindowKeys = { day: Number.NaN, month: Number.NaN };

  constructor(readonly now: () => number) {}

  /** The keys of the current windows. */
  current(): WindowKeys {
    const day = Math.floor(this.now() / DAY_MS);
    if (day !== this.keys.day) {
      const date = new Date(day * DAY_MS);
      this.keys = { day, month: date.getUTCFullYear() * 12 + date.getUTCMonth() };
    }
    return this.keys;
  }
}

/** When the current `window` ends (ms since the epoch): the next UTC midnight, or the first of next month. */
export function windowEnd(window: BudgetWindow, keys: WindowKeys): number {
  if (window === 'daily') return (keys.day + 1) * DAY_MS;
  const next = keys.month + 1;
  return Date.UTC(Math.floor(next / 12), next % 12, 1);
}
