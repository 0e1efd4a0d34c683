/** `verify` judges each WAL file against the one before it, and checks every file it lists. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { walSegmentName } from '../../src/format/file-names.js';
import { verifyFiles } from '../../src/cli/inspect.js';
import { tempDir } from '../helpers/temp-dir.js';
import { segment } from '../helpers/wal-segments.js';

async function storeWith(segments: Array<[firstSeq: number, count: number]>): Promise<{ dir: string; names: string[] }> {
  const dir = await tempDir();
  const names: string[] = [];
  for (const [firstSeq, count] of segments) {
    names.push(walSegmentName(firstSeq));
    await writeFile(path.join(dir, walSegmentName(firstSeq)), segment(firstSeq, count));
  }
  return { dir, names };
}

describe('verify', () => {
  it('marks every segment that does not follow the segment before it, not every other one', async () => {
    const { dir, names } = await storeWith([
      [1, 3],
      [6, 3],
      [11, 1],
      [14, 1],
    ]);
    const checks = await verifyFiles(dir, names, () => {});
    expect(checks.map((check) => [check.file, check.status])).toEqual([
      [walSegmentName(1), 'ok'],
      [walSegmentName(6), 'corrupt'],
      [walSegmentName(11), 'corrupt'],
      [walSegmentName(14), 'corrupt'],
    ]);
    expect(checks[2].reason).toBe('segment starts at seq 11 but the segment before ends at seq 8');
  });

  it('checks every segment it lists, even one whose name claims seq 0', async () => {
    const { dir, names } = await storeWith([
      [0, 0],
      [1, 2],
    ]);
    const checks = await verifyFiles(dir, names, () => {});
    expect(checks.map((check) => check.file)).toEqual([walSegmentName(0), walSegmentName(1)]);
  });
});
