/**
 * Simulated latency. Every delay of the example kit is divided by a speed factor so that tests
 * can run the pipeline fast while `npm start` shows realistic timings.
 */

/**
 * Reads the speed factor: `SIM_LLM_SPEED=10` runs ten times faster, `0` (or `instant`) removes
 * the delays. Anything unparsable falls back to 1 (real-looking timings).
 */
export function speedFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SIM_LLM_SPEED;
  if (raw === undefined || raw.trim() === '') return 1;
  if (raw === 'instant') return 0;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : 1;
}

/** Waits `ms / speed` milliseconds; speed 0 means no wait at all (not even a timer tick). */
export function simulatedDelay(ms: number, speed: number): Promise<void> {
  if (speed === 0 || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms / speed));
}
