import type { Counter, Gauge, Registry } from 'prom-client';
import { counter, gauge } from '../http/prom';
import type { LlmCallRecord } from '../genai/record';
import { BudgetExceededError, type BudgetScope, type BudgetUnit } from './errors';
import { Account, exhausted, UserAccounts } from './ledger';
import type { BudgetAction, ResolvedBudgets, ResolvedWindows } from './options';
import { BUDGET_WINDOWS, WindowClock, windowEnd, type BudgetWindow, type WindowKeys } from './windows';

/** The `feature` label of the total budget (a feature cannot be named this by accident). */
export const TOTAL_FEATURE_LABEL = '_total';

type Labels = 'feature' | 'window';

/** The budget gauges of one registry. */
interface BudgetGauges {
  usd: Gauge<Labels>;
  tokens: Gauge<Labels>;
  spentUsd: Gauge<Labels>;
  spentTokens: Gauge<Labels>;
  utilization: Gauge<Labels | 'unit'>;
}

/**
 * Budgets of every instance writing to a gauge: two instances sharing one registry share the
 * gauges, whose collect() was created by the first, so it must read the second's budgets too.
 */
const budgetsByGauge = new WeakMap<Gauge<string>, Set<Budgets>>();

/** One budget: its scope, feature (feature scope) and limits. */
interface Budget {
  readonly scope: BudgetScope;
  readonly feature: string | undefined;
  readonly limits: ResolvedWindows;
}

/** A budget with one account of its own (the total, or a feature's), and its `feature` label. */
interface Tracked extends Budget {
  readonly label: string;
  readonly account: Account;
}

/**
 * The budgets of one llmscope instance: spend accounts for the total, each budgeted feature and
 * each recent user (bounded), fed by the LLM-call records (a sink); the budget gauges, set at
 * scrape time; and the gate asked before each LLM call when enforcement is on.
 */
export class Budgets {
  private readonly clock: WindowClock;
  private readonly tracked: Tracked[] = [];
  private readonly total: Tracked | undefined;
  private readonly features = new Map<string, Tracked>();
  private readonly users: UserAccounts | undefined;
  private readonly exhaustedCount: Counter<'scope' | 'window' | 'unit'> | undefined;
  private readonly enforcedCount: Counter<'scope' | 'action'> | undefined;
  /** Per-user warnings already emitted: `window/unit` → the window key warned in. */
  private readonly userWarned = new Map<string, number>();
  /** The gauges this object is read from (see {@link close}). */
  private readonly gauges: Gauge<string>[] = [];
  private warnedHook = false;
  /** The per-user budget (its accounts are in {@link users}). */
  private readonly perUser: Budget | undefined;

  constructor(private readonly options: ResolvedBudgets, registry: Registry | undefined) {
    this.clock = new WindowClock(options.now);
    if (options.total !== undefined) {
      this.total = { label: TOTAL_FEATURE_LABEL, scope: 'total', feature: undefined, limits: options.total, account: new Account() };
      this.tracked.push(this.total);
    }
    for (const [feature, limits] of options.features) {
      const t: Tracked = { label: feature, scope: 'feature', feature, limits, account: new Account() };
      this.features.set(feature, t);
      this.tracked.push(t);
    }
    if (options.perUser !== undefined) {
      this.perUser = { scope: 'user', feature: undefined, limits: options.perUser };
      this.users = new UserAccounts(options.maxUsers);
    }
    if (registry !== undefined) {
      this.register(registry);
      this.exhaustedCount = counter(registry, 'llmscope_budget_exhausted_total', 'Budgets that became exhausted (spend reached the limit) in their window, by scope (total, feature, user), window (daily, monthly) and unit (usd, tokens).', ['scope', 'window', 'unit']);
      this.enforcedCount = counter(registry, 'llmscope_budget_enforced_total', 'LLM calls a budget acted on before the provider was called, by scope (total, feature, user) and action (reject, downgrade).', ['scope', 'action']);
    }
  }

  /** Whether calls must be checked before they start (`onExhausted` other than `warn`). */
  get enforcing(): boolean {
    return this.options.onExhausted !== 'warn';
  }

  private register(registry: Registry): void {
    const label = ['feature', 'window'] as const;
    const collectFrom = (write: (b: Budgets, g: Gauge<string>, keys: WindowKeys) => void) => function collect(this: Gauge<string>): void {
      for (const b of budgetsByGauge.get(this) ?? []) write(b, this, b.clock.current());
    };
    const g: BudgetGauges = {
      usd: gauge(registry, 'llmscope_budget_usd', 'Budgets of LLM spend in US dollars, by feature (_total for the total budget) and window (daily, monthly; UTC).', label, collectFrom((b, x) => b.writeLimits(x, 'usd'))),
      tokens: gauge(registry, 'llmscope_budget_tokens', 'Budgets of LLM tokens (input + output), by feature (_total for the total budget) and window (daily, monthly; UTC).', label, collectFrom((b, x) => b.writeLimits(x, 'tokens'))),
      spentUsd: gauge(registry, 'llmscope_budget_spent_usd', 'LLM spend in US dollars so far in the current window of each budget, by feature (_total for the total budget) and window (daily, monthly; UTC).', label, collectFrom((b, x, k) => b.writeSpent(x, 'usd', k))),
      spentTokens: gauge(registry, 'llmscope_budget_spent_tokens', 'LLM tokens (input + output) so far in the current window of each budget, by feature (_total for the total budget) and window (daily, monthly; UTC).', label, collectFrom((b, x, k) => b.writeSpent(x, 'tokens', k))),
      utilization: gauge(registry, 'llmscope_budget_utilization_ratio', 'Spent ÷ budget in the current window, by feature (_total for the total budget), window (daily, monthly; UTC) and unit (usd, tokens).', [...label, 'unit'], collectFrom((b, x, k) => b.writeUtilization(x, k))),
    };
    for (const x of Object.values(g) as Gauge<string>[]) {
      let set = budgetsByGauge.get(x);
      if (set === undefined) budgetsByGauge.set(x, (set = new Set()));
      set.add(this);
      this.gauges.push(x);
    }
  }

  /**
   * Stops reporting these budgets (the instance shut down): a registry shared with other
   * instances keeps the gauges, which would otherwise read, and keep alive, this object.
   */
  close(): void {
    for (const g of this.gauges) budgetsByGauge.get(g)?.delete(this);
    this.gauges.length = 0;
  }

  private writeLimits(g: Gauge<string>, unit: BudgetUnit): void {
    for (const t of this.tracked) {
      for (const window of BUDGET_WINDOWS) {
        const limit = t.limits[window]?.[unit];
        if (limit !== undefined) g.set({ feature: t.label, window }, limit);
      }
    }
  }

  private writeSpent(g: Gauge<string>, unit: BudgetUnit, keys: WindowKeys): void {
    for (const t of this.tracked) {
      t.account.roll(keys);
      for (const window of BUDGET_WINDOWS) {
        if (t.limits[window]?.[unit] !== undefined) g.set({ feature: t.label, window }, t.account.spent(window, unit));
      }
    }
  }

  private writeUtilization(g: Gauge<string>, keys: WindowKeys): void {
    for (const t of this.tracked) {
      t.account.roll(keys);
      for (const window of BUDGET_WINDOWS) {
        for (const unit of ['usd', 'tokens'] as const) {
          const limit = t.limits[window]?.[unit];
          if (limit === undefined) continue;
          const spent = t.account.spent(window, unit);
          // A zero budget is used up by any spend, and not used at all before.
          g.set({ feature: t.label, window, unit }, limit > 0 ? spent / limit : spent > 0 ? 1 : 0);
        }
      }
    }
  }

  /** The LLM-call sink: adds a finished call's cost and tokens to its total, feature and user. */
  readonly sink = (record: LlmCallRecord): void => {
    const usd = typeof record.costUsd === 'number' && record.costUsd > 0 ? record.costUsd : 0;
    const tokens = (record.inputTokens ?? 0) + (record.outputTokens ?? 0);
    if (usd === 0 && tokens === 0) return;
    const keys = this.clock.current();
    if (this.total !== undefined) this.spend(this.total, this.total.account, usd, tokens, keys);
    const feature = record.feature === undefined ? undefined : this.features.get(record.feature);
    if (feature !== undefined) this.spend(feature, feature.account, usd, tokens, keys);
    if (this.users !== undefined && this.perUser !== undefined && record.userId !== undefined) {
      this.spend(this.perUser, this.users.touch(record.userId), usd, tokens, keys);
    }
  };

  /** Adds spend to `account`; a limit crossed now is counted and warned about (once per window). */
  private spend(t: Budget, account: Account, usd: number, tokens: number, keys: WindowKeys): void {
    account.roll(keys);
    account.add(usd, tokens);
    for (const window of BUDGET_WINDOWS) {
      const l = t.limits[window];
      if (l === undefined) continue;
      for (const unit of ['usd', 'tokens'] as const) {
        const limit = l[unit];
        if (limit === undefined) continue;
        const after = account.spent(window, unit);
        const amount = unit === 'usd' ? usd : tokens;
        if (after >= limit && after - amount < limit) this.crossed(t, window, unit, limit, after, keys);
      }
    }
  }

  private crossed(t: Budget, window: BudgetWindow, unit: BudgetUnit, limit: number, spent: number, keys: WindowKeys): void {
    this.exhaustedCount?.inc({ scope: t.scope, window, unit });
    const windowKey = window === 'daily' ? keys.day : keys.month;
    if (t.scope === 'user') {
      // One warning per window for all users: a warning per user would flood the logs.
      const key = `${window}/${unit}`;
      if (this.userWarned.get(key) === windowKey) return;
      this.userWarned.set(key, windowKey);
    }
    const which = t.scope === 'total' ? 'the total' : t.scope === 'user' ? 'a user\'s per-user' : `feature ${JSON.stringify(t.feature)}'s`;
    const action = this.options.onExhausted === 'warn' ? 'calls go on (budgets.onExhausted is "warn")' : this.options.onExhausted === 'reject' ? 'further calls are rejected with 429' : 'further calls go to budgets.onExhausted';
    process.emitWarning(`llmscope: ${which} ${window} ${unit === 'usd' ? 'USD' : 'token'} budget is exhausted (${spent} of ${limit}); ${action} until ${new Date(windowEnd(window, keys)).toISOString()}.`, 'LlmscopeWarning');
  }

  /**
   * The gate asked before an LLM call starts: the model to call (the requested one, or the
   * cheaper one `onExhausted` chose), or a thrown {@link BudgetExceededError}. The most specific
   * exhausted budget decides: the user's, then the feature's, then the total.
   */
  readonly admit = (feature: string | undefined, userId: string | undefined, model: string, provider: string | undefined): string => {
    const keys = this.clock.current();
    let hit: BudgetScope | undefined;
    let reached: ReturnType<typeof exhausted>;
    if (this.users !== undefined && this.perUser !== undefined && userId !== undefined) {
      const account = this.users.peek(userId);
      if (account !== undefined) {
        account.roll(keys);
        reached = exhausted(account, this.perUser.limits);
        if (reached !== undefined) hit = 'user';
      }
    }
    const t = hit === undefined && feature !== undefined ? this.features.get(feature) : undefined;
    if (t !== undefined) {
      t.account.roll(keys);
      reached = exhausted(t.account, t.limits);
      if (reached !== undefined) hit = 'feature';
    }
    if (hit === undefined && this.total !== undefined) {
      this.total.account.roll(keys);
      reached = exhausted(this.total.account, this.total.limits);
      if (reached !== undefined) hit = 'total';
    }
    if (hit === undefined || reached === undefined) return model;
    const resetsAt = new Date(windowEnd(reached.window, keys));
    const budgetFeature = hit === 'feature' ? feature : undefined;
    let action: BudgetAction;
    const hook = this.options.onExhausted;
    if (typeof hook === 'function') {
      try {
        action = hook({ scope: hit, feature: budgetFeature, userId: hit === 'user' ? userId : undefined, window: reached.window, unit: reached.unit, limit: reached.limit, spent: reached.spent, resetsAt, model, provider });
      } catch (error) {
        // A broken hook must not fail the app's calls: they go on, and the hook is reported once.
        if (!this.warnedHook) {
          this.warnedHook = true;
          process.emitWarning(`llmscope: budgets.onExhausted threw (${error instanceof Error ? error.message : String(error)}); the call was allowed.`, 'LlmscopeWarning');
        }
        action = 'allow';
      }
    } else {
      action = hook;
    }
    if (action === 'reject') {
      this.enforcedCount?.inc({ scope: hit, action: 'reject' });
      throw new BudgetExceededError(hit, budgetFeature, reached.window, reached.unit, reached.limit, reached.spent, resetsAt, this.options.now());
    }
    if (typeof action === 'object' && action !== null && typeof action.model === 'string' && action.model.length > 0 && action.model !== model) {
      this.enforcedCount?.inc({ scope: hit, action: 'downgrade' });
      return action.model;
    }
    return model;
  };

  /** Users tracked now (at most `perUser.maxUsers`). */
  get trackedUsers(): number {
    return this.users?.size ?? 0;
  }
}
