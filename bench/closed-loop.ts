/** A closed-loop load runner: N workers each run one task after another for a fixed time. */

/** What a run measured. */
export interface LoopResult {
  /** Completed units (requests or letters). */
  readonly units: number;
  readonly seconds: number;
  /** Latency of each task in milliseconds. */
  readonly latenciesMs: readonly number[];
}

/**
 * Runs `task` in `concurrency` parallel loops for `durationMs`. A task returns how many units it
 * completed (1 for a request, 32 for a batch of letters).
 */
export async function runClosedLoop(
  concurrency: number,
  durationMs: number,
  task: (worker: number) => Promise<number>,
): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  let units = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        // Read `units` only after the await: `units += await …` would add to a stale value.
        const done = await task(worker);
        units += done;
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { units, seconds: (performance.now() - start) / 1000, latenciesMs };
}

/** The `p`-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
