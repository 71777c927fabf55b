/** Cost and tokens of one key (a user, a session, a feature, a prompt version) or of "other". */
export interface CostTotals {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  calls: number;
  /** Calls with token usage whose model had no price (their tokens are counted, their cost is not). */
  unpricedCalls: number;
}

/** One row of a {@link CostReport} dimension. */
export interface CostRow extends CostTotals {
  key: string;
}

/** The top keys of one dimension, most expensive first, and what did not fit in "other". */
export interface CostDimension {
  top: CostRow[];
  other: CostTotals;
}

/** Cost and tokens per user, session, feature and prompt version, as kept in memory. */
export interface CostReport {
  total: CostTotals;
  byUser: CostDimension;
  bySession: CostDimension;
  byFeature: CostDimension;
  /** Keyed `name@version`. */
  byPromptVersion: CostDimension;
}

function zero(): CostTotals {
  return { costUsd: 0, inputTokens: 0, outputTokens: 0, calls: 0, unpricedCalls: 0 };
}

function add(into: CostTotals, from: CostTotals): void {
  into.costUsd += from.costUsd;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.calls += from.calls;
  into.unpricedCalls += from.unpricedCalls;
}

/**
 * At most `max` keys with their exact totals, plus an "other" bucket. When a new key arrives and
 * the table is full, the cheapest key is folded into "other" and the new key takes its place
 * (the Space-Saving idea, but exact: nothing is double counted, so the rows plus "other" always
 * equal the total). A heavy newcomer therefore always gets a row; a long tail of one-off keys
 * costs one scan each once the table is full, which is why the bounds are in the hundreds.
 */
export class TopN {
  private readonly rows = new Map<string, CostTotals>();
  private readonly other = zero();

  constructor(private readonly max: number) {}

  add(key: string | undefined, call: CostTotals): void {
    if (key === undefined) return;
    let row = this.rows.get(key);
    if (row === undefined) {
      if (this.rows.size >= this.max) this.evictCheapest();
      row = zero();
      this.rows.set(key, row);
    }
    add(row, call);
  }

  private evictCheapest(): void {
    let cheapestKey: string | undefined;
    let cheapest: CostTotals | undefined;
    for (const [key, row] of this.rows) {
      if (cheapest === undefined || row.costUsd < cheapest.costUsd || (row.costUsd === cheapest.costUsd && row.inputTokens + row.outputTokens < cheapest.inputTokens + cheapest.outputTokens)) {
        cheapest = row;
        cheapestKey = key;
      }
    }
    if (cheapestKey === undefined || cheapest === undefined) return;
    add(this.other, cheapest);
    this.rows.delete(cheapestKey);
  }

  snapshot(limit: number): CostDimension {
    const top = [...this.rows].map(([key, t]) => ({ key, ...t }))
      .sort((a, b) => b.costUsd - a.costUsd || (b.inputTokens + b.outputTokens) - (a.inputTokens + a.outputTokens));
    const other = { ...this.other };
    for (const row of top.slice(limit)) add(other, row);
    return { top: top.slice(0, limit), other };
  }
}

/** What one call adds to the attribution. */
export interface AttributedCall {
  /** USD; `null` for a call with usage but no price; `undefined` for a call without usage. */
  costUsd: number | null | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  userId: string | undefined;
  sessionId: string | undefined;
  feature: string | undefined;
  promptName: string | undefined;
  promptVersion: string | undefined;
}

/**
 * Cost and tokens per user, per session, per feature and per prompt version, in bounded memory.
 * These are what Prometheus must not get as labels (users, sessions); logs, the console and
 * budgets read them from here with {@link snapshot}.
 */
export class CostAttribution {
  private readonly total = zero();
  private readonly users: TopN;
  private readonly sessions: TopN;
  private readonly features: TopN;
  private readonly prompts: TopN;

  constructor(limits: { maxUsers: number; maxSessions: number; maxFeatures: number; maxPromptVersions: number }) {
    this.users = new TopN(limits.maxUsers);
    this.sessions = new TopN(limits.maxSessions);
    this.features = new TopN(limits.maxFeatures);
    this.prompts = new TopN(limits.maxPromptVersions);
  }

  add(call: AttributedCall): void {
    const t: CostTotals = {
      costUsd: call.costUsd ?? 0,
      inputTokens: call.inputTokens ?? 0,
      outputTokens: call.outputTokens ?? 0,
      calls: 1,
      unpricedCalls: call.costUsd === null ? 1 : 0,
    };
    add(this.total, t);
    this.users.add(call.userId, t);
    this.sessions.add(call.sessionId, t);
    this.features.add(call.feature, t);
    if (call.promptName !== undefined) this.prompts.add(`${call.promptName}@${call.promptVersion ?? ''}`, t);
  }

  /** The totals and the `limit` most expensive keys of each dimension (the rest summed in `other`). */
  snapshot(limit = 20): CostReport {
    return {
      total: { ...this.total },
      byUser: this.users.snapshot(limit),
      bySession: this.sessions.snapshot(limit),
      byFeature: this.features.snapshot(limit),
      byPromptVersion: this.prompts.snapshot(limit),
    };
  }
}
