import { bucketOf } from './hash';
import type { TrafficControl } from './traffic';

/** Why a request got its version: the hash split, or a forced variant (`force` option or `forcePromptVersion`). */
export type AssignmentReason = 'split' | 'forced';

/** One change of an experiment's weights. */
export interface WeightChange {
  /** The weights set (every version of the experiment, 0 for those left out). */
  readonly weights: Readonly<Record<string, number>>;
  /** Why, as given to `setWeights`. */
  readonly reason: string;
  /** When it happened, ms since the epoch. */
  readonly atMs: number;
}

/**
 * Checks weights: an object of versions to finite numbers >= 0 whose sum is > 0; `known`, when
 * given, says which versions exist. Returns what is wrong, or undefined.
 */
export function weightsProblem(weights: unknown, known: ((version: string) => boolean) | undefined): string | undefined {
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) return `must be an object of versions to weights, such as { v3: 90, v4: 10 }, got ${JSON.stringify(weights)}`;
  let sum = 0;
  for (const [version, w] of Object.entries(weights as Record<string, unknown>)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) return `has weight ${JSON.stringify(w)} for ${JSON.stringify(version)}; weights are finite numbers >= 0`;
    if (known !== undefined && !known(version)) return `names version ${JSON.stringify(version)}, which the prompt does not have`;
    sum += w;
  }
  if (!(sum > 0)) return 'must have weights that add up to more than 0';
  return undefined;
}

/**
 * A prompt experiment: weighted variants (versions) and a salted hash that puts each unit (user,
 * session or trace id) in a bucket of [0, 1). Versions own consecutive ranges of [0, 1), in the
 * order they first appeared, each as wide as its share of the weights; a unit gets the version
 * whose range holds its bucket. Nothing is stored per unit and nothing is shared: every process
 * computes the same assignment. When weights change, ranges move but keep their order, so a
 * unit keeps its version while its bucket stays inside that version's range: shifting weight
 * from the last good version to a candidate only moves units onto the candidate.
 *
 * It is the {@link TrafficControl} that rollouts and rollback guards drive.
 */
export class PromptExperiment implements TrafficControl {
  private order: string[];
  private current: Readonly<Record<string, number>>;
  /** Upper bound of each version's range, in `order`. */
  private bounds: number[] = [];
  private readonly listeners = new Set<(change: WeightChange) => void>();
  /** The last change made with {@link setWeights}; undefined while the configured weights hold. */
  lastChange: WeightChange | undefined;

  /** @internal Built by the registry from `prompts.experiments`. */
  constructor(
    /** The prompt's name. */
    readonly prompt: string,
    weights: Readonly<Record<string, number>>,
    /** Salt of the hash (default: the prompt's name). */
    readonly salt: string,
    /** Forced variants: unit id (user or session id) → version. */
    readonly force: ReadonlyMap<string, string>,
    /** Whether a version exists (local prompts); undefined when the source cannot tell (Langfuse). */
    private readonly known: ((version: string) => boolean) | undefined,
  ) {
    this.order = Object.keys(weights);
    this.current = Object.freeze({ ...weights });
    this.layout();
  }

  /** {@inheritDoc TrafficControl.weights} */
  weights(): Readonly<Record<string, number>> {
    return this.current;
  }

  /** The versions, in range order. */
  versions(): readonly string[] {
    return this.order;
  }

  /**
   * {@inheritDoc TrafficControl.setWeights}
   * Throws a `TypeError` for weights that are not numbers >= 0 adding up to more than 0, or that
   * name a version the (local) prompt does not have; the weights in force are then kept.
   */
  setWeights(weights: Readonly<Record<string, number>>, reason: string): void {
    const problem = weightsProblem(weights, this.known);
    if (problem !== undefined) throw new TypeError(`llmscope: new weights of the prompt experiment ${JSON.stringify(this.prompt)} ${problem}.`);
    // Versions keep their place; a new one goes last (after the others' ranges), and one left out gets 0.
    for (const version of Object.keys(weights)) if (!this.order.includes(version)) this.order.push(version);
    const next: Record<string, number> = {};
    for (const version of this.order) next[version] = weights[version] ?? 0;
    this.current = Object.freeze(next);
    this.layout();
    const change: WeightChange = { weights: this.current, reason: String(reason), atMs: Date.now() };
    this.lastChange = change;
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not undo or block the change.
      }
    }
  }

  /** Calls `listener` after each {@link setWeights}; returns a function that removes it. */
  onChange(listener: (change: WeightChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The unit's bucket in [0, 1). */
  bucket(unit: string): number {
    return bucketOf(this.salt, unit);
  }

  /** The version of the range holding `bucket`. */
  versionAt(bucket: number): string {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) if (bucket < (bounds[i] as number)) return this.order[i] as string;
    // Rounding can leave the top of [0, 1) past the last bound: it belongs to the last weighted version.
    for (let i = this.order.length - 1; i >= 0; i--) if ((this.current[this.order[i] as string] as number) > 0) return this.order[i] as string;
    return this.order[0] as string;
  }

  /** The version of a unit by the split (forced variants aside). */
  assign(unit: string): string {
    return this.versionAt(this.bucket(unit));
  }

  private layout(): void {
    let sum = 0;
    for (const version of this.order) sum += this.current[version] as number;
    let acc = 0;
    this.bounds = this.order.map((version) => {
      acc += this.current[version] as number;
      return acc / sum;
    });
  }
}
