/**
 * A frozen map's entries in key order, sorted in runs and merged: the order snapshots are written in
 * when the ordered index is not built.
 */
import { describe, expect, it } from 'vitest';
import { entryBatches, sortedEntryBatches } from '../../src/memtable/sorted-entries.js';
import { sortRunKeys } from '../../src/limits.js';
import { Prng } from '../../src/testing/index.js';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

async function collect(batches: AsyncIterable<Array<[string, string | Uint8Array]>>): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of batches) {
    expect(batch.length).toBeGreaterThan(0);
    expect(batch.length).toBeLessThanOrEqual(sortRunKeys);
    for (const [key] of batch) keys.push(key);
  }
  return keys;
}

describe('sortedEntryBatches', () => {
  it('yields every entry once, in UTF-8 byte order, across many runs', async () => {
    const prng = new Prng(7);
    const alphabet = ['a', 'b', 'é', '\uffff', '\ue000', '😀', '0', '~'];
    const map = new Map<string, string>();
    while (map.size < sortRunKeys * 3 + 17) {
      const key = Array.from({ length: 1 + prng.int(6) }, () => prng.pick(alphabet)).join('');
      map.set(key, `v:${key}`);
    }
    map.set('', 'empty');
    const keys = await collect(sortedEntryBatches(map, pause));
    expect(keys).toEqual([...map.keys()].sort(byBytes));
  });

  it('handles an empty map and a map of one run', async () => {
    expect(await collect(sortedEntryBatches(new Map(), pause))).toEqual([]);
    const small = new Map([
      ['b', '1'],
      ['a', '2'],
      ['c', '3'],
    ]);
    expect(await collect(sortedEntryBatches(small, pause))).toEqual(['a', 'b', 'c']);
    expect(await collect(entryBatches(small))).toEqual(['b', 'a', 'c']); // entryBatches keeps the order it is given
  });
});
