/**
 * The simulation catches a disk that loses acknowledged writes, reports the seed and its history,
 * and shrinks the history to the few ops that show the loss.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../../src/testing/index.js';
import type { FileHandle } from '../../src/fs/file-system.js';
import { planFor } from './ops.js';
import { runSimulation } from './workload.js';
import { shrink } from './shrink.js';
import { failureReport } from './report.js';

/** A disk whose WAL fsyncs do nothing: every acknowledged write is lost by the next power loss. */
class LyingDisk extends MemoryFileSystem {
  override async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const handle = await super.openAppend(filePath, create);
    return filePath.endsWith('.wal') ? { ...handle, sync: async () => undefined } : handle;
  }
}

const lying = { disk: () => new LyingDisk() };

describe('simulation: failure report and shrinking', () => {
  it('catches lost acknowledged writes and shrinks the history to a put and a crash', async () => {
    const seed = 2;
    const plan = planFor(seed, { faultRate: 0 });
    const result = await runSimulation(seed, plan.config, plan.ops, lying);
    if (result.ok) expect.fail('a disk that ignores fsync must lose acknowledged writes');
    expect(result.failure.kind).toBe('lost-acked-write');

    const shrunk = await shrink(seed, plan.config, plan.ops, result, { run: lying });
    expect(shrunk.ops.length).toBeLessThanOrEqual(3);
    expect(shrunk.ops.map((op) => op.type)).toContain('crash');
    const replayed = await runSimulation(seed, plan.config, shrunk.ops, lying);
    expect(replayed.ok ? undefined : replayed.failure.kind).toBe('lost-acked-write');

    const report = failureReport(seed, plan.config, plan.ops, result, shrunk);
    expect(report).toContain(`seed=${seed} failed`);
    expect(report).toContain(`history (${plan.ops.length} ops)`);
    expect(report).toContain(`shortest failing history (${shrunk.ops.length} ops`);
  });

  it('passes the same seed on an honest disk', async () => {
    const plan = planFor(2, { faultRate: 0 });
    expect((await runSimulation(2, plan.config, plan.ops)).ok).toBe(true);
  });
});
