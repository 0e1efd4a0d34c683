/**
 * The memtable's ordered index: built by the first range read, kept current by every write after
 * it, and dropped once more writes than keys (or than orderedIndexIdleWritesMin) pass without one.
 */
import { describe, expect, it } from 'vitest';
import { Memtable } from '../../src/memtable/memtable.js';
import { orderedIndexIdleWritesMin } from '../../src/limits.js';
import { entry, entryMap } from '../helpers/entries.js';

const keysOf = (memtable: Memtable) => [...memtable.range()].map(([key]) => key);

describe('the ordered index of the memtable', () => {
  it('is not built until a range is read, then follows every write', () => {
    const memtable = new Memtable(
      entryMap([
        ['b', '1'],
        ['a', '2'],
      ]),
    );
    memtable.set('c', entry('3'));
    expect(memtable.indexed).toBe(false);
    expect(keysOf(memtable)).toEqual(['a', 'b', 'c']);
    expect(memtable.indexed).toBe(true);
    memtable.set('0', entry('x'));
    memtable.delete('b');
    expect(keysOf(memtable)).toEqual(['0', 'a', 'c']);
  });

  it('follows writes made while a snapshot has the map frozen, and after the thaw', async () => {
    const memtable = new Memtable(
      entryMap([
        ['a', '1'],
        ['b', '2'],
      ]),
    );
    memtable.freeze(1);
    memtable.set('c', entry('3'));
    memtable.delete('a');
    expect(keysOf(memtable)).toEqual(['b', 'c']); // built from base and overlay
    memtable.set('d', entry('4'));
    await memtable.thaw();
    expect(keysOf(memtable)).toEqual(['b', 'c', 'd']);
  });

  it('is dropped after more writes than orderedIndexIdleWritesMin without a range read, and rebuilt right', () => {
    const memtable = new Memtable(entryMap([['a', '1']]));
    keysOf(memtable);
    for (let i = 0; i < orderedIndexIdleWritesMin; i++) memtable.set(`k${i % 10}`, entry(String(i)));
    expect(memtable.indexed).toBe(true);
    memtable.set('z', entry('last'));
    expect(memtable.indexed).toBe(false);
    expect(keysOf(memtable)).toEqual(['a', ...Array.from({ length: 10 }, (_, i) => `k${i}`), 'z']);
    expect(memtable.indexed).toBe(true);
  });
});
