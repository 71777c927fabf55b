/**
 * Which readings of a run were disturbed. On these shared machines another tenant's work only
 * ever adds CPU time to a request (cache and core contention, frequency steps), so a reading far
 * above its own configuration's fastest round is one the machine disturbed. The report lists
 * them per block and round, so that a run's medians can be read (and a run counted) without
 * going through its log by hand.
 */

/** A reading more than this fraction over its configuration's fastest round is flagged. */
export const DISTURBED_OVER_FASTEST = 0.15;

/** One block (a bare framework and its configurations) in one round: the readings flagged in it. */
export interface DisturbedRound {
  /** The block's bare configuration. */
  block: string;
  /** 1-based. */
  round: number;
  /** Each flagged configuration and how far above its fastest round it read (0.28: +28%). */
  rows: { name: string; overFastest: number }[];
}

/**
 * The readings more than {@link DISTURBED_OVER_FASTEST} above their configuration's fastest round,
 * by block and round (rounds with none left out). `cpuByRow`: CPU µs a request of each
 * configuration, in round order; `blocks`: each bare configuration's name and its block's
 * configurations (the bare one included).
 */
export function disturbedRounds(blocks: ReadonlyMap<string, readonly string[]>, cpuByRow: ReadonlyMap<string, readonly number[]>): DisturbedRound[] {
  const out: DisturbedRound[] = [];
  for (const [block, names] of blocks) {
    const byRound: DisturbedRound['rows'][] = [];
    for (const name of names) {
      const readings = cpuByRow.get(name) ?? [];
      // One reading: nothing to compare it with.
      if (readings.length < 2) continue;
      const fastest = Math.min(...readings);
      readings.forEach((reading, r) => {
        const over = reading / fastest - 1;
        if (over > DISTURBED_OVER_FASTEST) (byRound[r] ??= []).push({ name, overFastest: over });
      });
    }
    byRound.forEach((rows, r) => out.push({ block, round: r + 1, rows }));
  }
  return out;
}
