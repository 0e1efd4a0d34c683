/**
 * One key with an expiry must not make every entry of the memtable bigger (see
 * src/memtable/entry-shape.ts): the heap per entry is measured in fresh processes, with and without
 * an expiring entry set first. A memory figure, not a timing: after a full GC it repeats to a byte
 * per entry (84–86 bytes here), and without the fix one expiring entry adds about 17 to every entry.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(projectRoot, 'test/fixtures/entry-heap.ts');
const keyCount = 100_000;

function heapBytesPerEntry(mode: 'ttl' | 'plain'): number {
  const output = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, mode, String(keyCount)], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  const result = JSON.parse(output.trim().split('\n').at(-1)!) as { heapBytesPerEntry: number; size: number; expiresAt: number };
  expect(result).toMatchObject({ size: keyCount + (mode === 'ttl' ? 1 : 0), expiresAt: 0 });
  return result.heapBytesPerEntry;
}

describe('entry shape', () => {
  it('keeps every entry as small after one entry got an expiry as before (no boxed expiresAt per entry)', () => {
    const plain = heapBytesPerEntry('plain');
    const withExpiry = heapBytesPerEntry('ttl');
    expect(plain).toBeGreaterThan(0);
    expect(withExpiry - plain).toBeLessThan(8);
  }, 60_000);
});
