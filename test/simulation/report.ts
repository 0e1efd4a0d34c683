/** The text a failing seed prints: the seed, its history, and the shortest failing history. */
import { formatHistory, type SimConfig, type SimOp } from './ops.js';
import type { ShrinkResult } from './shrink.js';
import type { SimResult } from './workload.js';

export function failureReport(
  seed: number,
  config: SimConfig,
  ops: readonly SimOp[],
  result: Extract<SimResult, { ok: false }>,
  shrunk?: ShrinkResult,
): string {
  const lines = [
    `seed=${seed} failed at step ${result.step + 1}: ${result.failure.message}`,
    `config ${JSON.stringify(config)}`,
    `history (${ops.length} ops):`,
    formatHistory(ops),
  ];
  if (shrunk !== undefined) {
    lines.push(
      `shortest failing history (${shrunk.ops.length} ops, found in ${shrunk.runs} replays): ${shrunk.result.failure.message}`,
      formatHistory(shrunk.ops),
      `as JSON: ${JSON.stringify({ seed, config, ops: shrunk.ops })}`,
    );
  }
  return lines.join('\n');
}
