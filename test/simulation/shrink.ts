/**
 * Shrinking: delta debugging (Zeller's ddmin) over a failing op list, to find a short history that
 * still fails the same way. Works because a run replays from (seed, op list) alone.
 */
import type { SimConfig, SimOp } from './ops.js';
import { runSimulation, type RunOptions, type SimResult } from './workload.js';

export interface ShrinkResult {
  ops: SimOp[];
  result: Extract<SimResult, { ok: false }>;
  runs: number;
}

export interface ShrinkOptions {
  /** Stop after this many replays. Default 2000. */
  runsMax?: number;
  /** Passed to every replay (not `log`). */
  run?: Omit<RunOptions, 'log'>;
}

/**
 * Finds a (1-minimal, within the run budget) sub-list of `ops` whose run still fails with the same
 * failure kind as `failure`. The first pass cuts the list right after the failing step.
 */
export async function shrink(
  seed: number,
  config: SimConfig,
  ops: readonly SimOp[],
  failure: Extract<SimResult, { ok: false }>,
  options: ShrinkOptions = {},
): Promise<ShrinkResult> {
  const runsMax = options.runsMax ?? 2000;
  let runs = 0;
  let best = { ops: [...ops], result: failure };
  const fails = async (candidate: SimOp[]): Promise<boolean> => {
    if (runs >= runsMax) return false;
    runs++;
    const result = await runSimulation(seed, config, candidate, options.run);
    if (result.ok || result.failure.kind !== failure.failure.kind) return false;
    if (candidate.length < best.ops.length) best = { ops: candidate, result };
    return true;
  };

  // Nothing after the failing step matters (the final reopen runs after the list anyway).
  const prefix = ops.slice(0, Math.min(ops.length, failure.step + 1));
  if (prefix.length < ops.length) await fails(prefix);

  let current = best.ops;
  let chunks = 2;
  while (current.length >= 2 && runs < runsMax) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let start = 0; start < current.length; start += size) {
      const complement = [...current.slice(0, start), ...current.slice(start + size)];
      if (await fails(complement)) {
        current = complement;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunks >= current.length) break;
      chunks = Math.min(chunks * 2, current.length);
    }
  }
  return { ops: best.ops, result: best.result, runs };
}
