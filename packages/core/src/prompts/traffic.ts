/** What a rollout or a rollback guard may change on a prompt experiment. */
export interface TrafficControl {
  /** The prompt's name. */
  readonly prompt: string;
  /** Current weights by version (their sum is > 0). */
  weights(): Readonly<Record<string, number>>;
  /**
   * Replaces the weights; takes effect for the next assignment. Assignment stays sticky: a unit
   * keeps its version while its bucket stays inside that version's range, so moving weight
   * towards a candidate only moves units onto it. `reason` says why (logged, kept as `lastChange`).
   */
  setWeights(weights: Readonly<Record<string, number>>, reason: string): void;
}
