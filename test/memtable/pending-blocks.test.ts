/**
 * `PendingBlocks`: snapshot blocks an open has not decoded. A lookup finds the one block whose key
 * range holds a key (or none, between and around blocks), each block loads once, in full, and the
 * count of pending entries follows; blocks must come in key order without overlap.
 */
import { describe, expect, it } from 'vitest';
import { PendingBlocks, type PendingBlock } from '../../src/memtable/pending-blocks.js';
import type { StoredEntry } from '../../src/types.js';

function block(keys: string[]): PendingBlock & { loads: number } {
  const made = {
    firstKey: keys[0],
    lastKey: keys.at(-1)!,
    entries: keys.length,
    loads: 0,
    load(into: (key: string, entry: StoredEntry) => void) {
      made.loads++;
      for (const key of keys) into(key, { value: `v${key}`, version: 1, expiresAt: 0 });
    },
  };
  return made;
}

function collect(): { into: (key: string) => void; keys: string[] } {
  const keys: string[] = [];
  return { into: (key) => keys.push(key), keys };
}

describe('PendingBlocks', () => {
  const three = () => {
    const pending = new PendingBlocks();
    const blocks = [block(['b', 'c', 'd']), block(['f', 'g']), block(['k', 'm', 'p'])];
    for (const each of blocks) pending.add(each);
    return { pending, blocks };
  };

  it('loads the block whose range holds a key, edges included; a key between or around blocks loads nothing', () => {
    const { pending, blocks } = three();
    expect(pending.entries).toBe(8);
    for (const key of ['a', 'e', 'h', 'j', 'q', 'd\u0000']) {
      const seen = collect();
      expect(pending.loadCovering(key, seen.into), key).toBe(false);
      expect(seen.keys).toEqual([]);
    }
    const seen = collect();
    expect(pending.loadCovering('l', seen.into)).toBe(true); // in k..p, though not a key of it
    expect(seen.keys).toEqual(['k', 'm', 'p']);
    expect(pending.entries).toBe(5);
    expect(pending.loadCovering('m', seen.into)).toBe(false); // loaded already: once only
    expect(pending.loadCovering('f', seen.into)).toBe(true);
    expect(pending.loadCovering('d', seen.into)).toBe(true);
    expect(blocks.map((each) => each.loads)).toEqual([1, 1, 1]);
    expect(pending.entries).toBe(0);
  });

  it('loads the rest in key order around blocks already loaded, each once', () => {
    const { pending, blocks } = three();
    const seen = collect();
    pending.loadCovering('g', seen.into);
    expect(pending.loadNext(seen.into)).toBe(true);
    expect(pending.loadNext(seen.into)).toBe(false);
    expect(seen.keys).toEqual(['f', 'g', 'b', 'c', 'd', 'k', 'm', 'p']);
    expect(blocks.map((each) => each.loads)).toEqual([1, 1, 1]);
    pending.loadAll(seen.into);
    expect(seen.keys).toHaveLength(8);
  });

  it('orders keys by their UTF-8 bytes, as the snapshot does', () => {
    const pending = new PendingBlocks();
    // U+FFFD sorts after U+10000 in UTF-16 code units but before it in UTF-8 bytes.
    pending.add(block(['\uFFFD', '\u{10000}']));
    const seen = collect();
    expect(pending.loadCovering('\u{FFFF}', seen.into)).toBe(true);
  });

  it('refuses blocks out of order or overlapping, and forgets every block on clear', () => {
    const pending = new PendingBlocks();
    pending.add(block(['c', 'e']));
    expect(() => pending.add(block(['e', 'f']))).toThrow(/key order/);
    expect(() => pending.add(block(['a', 'b']))).toThrow(/key order/);
    pending.clear();
    expect(pending.entries).toBe(0);
    expect(pending.loadNext(() => undefined)).toBe(false);
    pending.add(block(['a', 'b']));
    expect(pending.entries).toBe(2);
  });
});
