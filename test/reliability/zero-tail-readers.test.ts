/**
 * Every reader of WAL segments treats zeros to the end of a segment (space preallocated under sync
 * 'always') as its clean end: recovery, repair, dumpWal and the change feed's history. A power loss
 * leaves such tails in the last segment; rotation leaves them in every earlier one.
 */
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DurableKVStore, dumpWal } from '../../src/index.js';
import { classifyDirectory } from '../../src/format/file-names.js';
import { walkSegment } from '../../src/format/wal-reader.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { dir, openStore } from './helpers.js';

const records = 40;
const options = { segmentBytesMax: 512 };

/** A store of several segments, every one ending in zeros, as a power loss left it (all writes acknowledged). */
async function crashedStore(): Promise<MemoryFileSystem> {
  const memory = new MemoryFileSystem({ seed: 3 });
  const store = await openStore(memory, options);
  for (let i = 1; i <= records; i++) await store.put(`k${i}`, `v${i}`);
  // The process dies with the power: the store is never closed (a close would touch the files).
  memory.crash();
  const segments = classifyDirectory(await memory.readdir(dir)).segments;
  expect(segments.length).toBeGreaterThan(2);
  for (const segment of segments) {
    const bytes = Buffer.from(memory.fileBytes(`${dir}/${segment.name}`)!);
    const walk = walkSegment(bytes, segment.firstSeq - 1, () => {});
    expect(walk.damage, segment.name).toBeUndefined();
    expect(bytes.byteLength, `${segment.name} ends in preallocated zeros`).toBeGreaterThan(walk.validBytes);
  }
  return memory;
}

async function sizes(memory: MemoryFileSystem): Promise<number[]> {
  const names = classifyDirectory(await memory.readdir(dir)).segments.map((segment) => segment.name);
  return names.map((name) => memory.fileBytes(`${dir}/${name}`)!.byteLength);
}

describe('zero tails read as the clean end of every segment', () => {
  it('recovery opens with every record and reports no torn tail', async () => {
    const memory = await crashedStore();
    const store = await openStore(memory, options);
    expect(store.recoveryReport.tornTail).toBeUndefined();
    expect(store.stats().lastSeq).toBe(records);
    expect(store.get(`k${records}`)).toBe(`v${records}`);
    await store.close();
  });

  it('repair finds nothing to cut and changes no file', async () => {
    const memory = await crashedStore();
    const before = await sizes(memory);
    const report = await DurableKVStore.repair(dir, { fs: memory });
    expect(report).toEqual({ repaired: undefined, tornTail: undefined, recordsKept: records, lastSeq: records });
    expect(await sizes(memory)).toEqual(before);
  });

  it('dumpWal prints every operation and no damage line', async () => {
    const memory = await crashedStore();
    const lines: string[] = [];
    for await (const line of dumpWal(dir, { fs: memory })) lines.push(line);
    expect(lines).toEqual(Array.from({ length: records }, (_, i) => `PUT|${i + 1}|k${i + 1}|v${i + 1}`));
  });

  it("the change feed replays history across them, the live segment's included", async () => {
    const memory = await crashedStore();
    const store = await openStore(memory, options);
    await store.put('after', 'reopen'); // the live segment is preallocated again
    const changes = await firstValueFrom(store.changes({ since: 0 }).pipe(take(records + 1), toArray()));
    expect(changes.map((change) => change.seq)).toEqual(Array.from({ length: records + 1 }, (_, i) => i + 1));
    expect(changes.at(-1)!.ops).toEqual([{ type: 'put', key: 'after', value: 'reopen', expiresAt: null }]);
    await store.close();
  });
});
