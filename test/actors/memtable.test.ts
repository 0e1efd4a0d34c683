import { describe, expect, it } from 'vitest';
import { Memtable } from '../../src/memtable/memtable.js';
import type { StoredEntry } from '../../src/types.js';
import { Prng } from '../../src/testing/index.js';
import { entry, entryMap } from '../helpers/entries.js';

function memtableOf(values: Record<string, string>): Memtable {
  return new Memtable(entryMap(values));
}

describe('without a snapshot running', () => {
  it('behaves like a Map', () => {
    const table = memtableOf({ a: '1' });
    table.set('b', entry('2'));
    table.set('a', entry('3'));
    table.delete('missing');
    expect(table.get('a')).toEqual(entry('3'));
    expect(table.has('b')).toBe(true);
    expect(table.size).toBe(2);
    table.delete('a');
    expect(table.has('a')).toBe(false);
    expect([...table.entries()]).toEqual([['b', entry('2')]]);
  });
});

describe('freeze', () => {
  it('gives a view that stays as it was while writes go on', () => {
    const table = memtableOf({ a: '1', b: '2', c: '3' });
    const view = table.freeze(9);
    expect(view.seq).toBe(9);
    table.set('a', entry('changed'));
    table.set('d', entry('new'));
    table.delete('b');
    expect(new Map(view.map)).toEqual(entryMap({ a: '1', b: '2', c: '3' }));
  });

  it('lets reads see the writes made during the freeze', () => {
    const table = memtableOf({ a: '1', b: '2' });
    table.freeze(1);
    table.set('a', entry('changed'));
    table.set('d', entry('new'));
    table.delete('b');
    expect(table.get('a')).toEqual(entry('changed'));
    expect(table.get('d')).toEqual(entry('new'));
    expect(table.get('b')).toBeUndefined();
    expect(table.has('b')).toBe(false);
    expect(table.has('a')).toBe(true);
  });

  it('keeps size right across overlay puts, deletes, re-puts and deletes of missing keys', () => {
    const table = memtableOf({ a: '1', b: '2' });
    table.freeze(1);
    expect(table.size).toBe(2);
    table.set('a', entry('overwrite')); // existing key: no change
    expect(table.size).toBe(2);
    table.set('c', entry('3')); // new key
    expect(table.size).toBe(3);
    table.set('c', entry('3 again'));
    expect(table.size).toBe(3);
    table.delete('b'); // base key
    expect(table.size).toBe(2);
    table.delete('b'); // already deleted
    expect(table.size).toBe(2);
    table.set('b', entry('back')); // re-put after delete
    expect(table.size).toBe(3);
    table.delete('c'); // overlay-only key
    expect(table.size).toBe(2);
    table.delete('never'); // missing key
    expect(table.size).toBe(2);
  });

  it('lists each live key once in entries(), with its newest value', () => {
    const table = memtableOf({ a: '1', b: '2', c: '3' });
    table.freeze(1);
    table.set('a', entry('changed'));
    table.delete('b');
    table.set('d', entry('new'));
    table.delete('d');
    table.set('e', entry('kept'));
    const entries = [...table.entries()];
    expect(new Map(entries)).toEqual(entryMap({ a: 'changed', c: '3', e: 'kept' }));
    expect(entries).toHaveLength(3);
    expect(entries).toHaveLength(table.size);
  });

  it('refuses a second freeze before thaw', () => {
    const table = memtableOf({});
    table.freeze(1);
    expect(() => table.freeze(2)).toThrow(/one snapshot at a time/);
  });
});

describe('thaw', () => {
  it('merges the overlay back, leaving the writes of the freeze applied', async () => {
    const table = memtableOf({ a: '1', b: '2' });
    const view = table.freeze(1);
    table.set('a', entry('changed'));
    table.delete('b');
    table.set('c', entry('3'));
    await table.thaw();
    expect(new Map(table.entries())).toEqual(entryMap({ a: 'changed', c: '3' }));
    expect(table.size).toBe(2);
    // Thawed: writes go to the base again (the old view is no longer frozen).
    table.set('z', entry('after'));
    expect(view.map.get('z')).toEqual(entry('after'));
  });

  it('can freeze again while a previous overlay is still being merged', async () => {
    const table = memtableOf({ a: '1' });
    table.freeze(1);
    for (let i = 0; i < 120_000; i++) table.set(`k${i}`, entry('v')); // more than one merge slice
    const thawing = table.thaw();
    const view = table.freeze(2); // must see everything written so far
    expect(view.map.size).toBe(120_001);
    table.set('later', entry('x'));
    expect(view.map.has('later')).toBe(false);
    await thawing;
    await table.thaw();
    expect(table.size).toBe(120_002);
  });

  it('ends equal to a plain Map given the same writes, across random freeze/thaw cycles', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const prng = new Prng(seed);
      const model = new Map<string, StoredEntry>();
      const table = new Memtable();
      let frozen: { view: Map<string, StoredEntry>; map: ReadonlyMap<string, StoredEntry> } | undefined;
      let thawing: Promise<void> | undefined;
      for (let step = 0; step < 3000; step++) {
        const key = `k${prng.int(60)}`;
        const roll = prng.int(100);
        if (roll < 55) {
          const value = entry(`s${step}`, step + 1);
          table.set(key, value);
          model.set(key, value);
        } else if (roll < 90) {
          table.delete(key);
          model.delete(key);
        } else if (roll < 95 && frozen === undefined) {
          if (thawing !== undefined && prng.chance(0.5)) await thawing;
          const view = table.freeze(step);
          frozen = { view: new Map(model), map: view.map };
        } else if (frozen !== undefined) {
          // The frozen view never changed while it was frozen.
          expect(new Map(frozen.map)).toEqual(frozen.view);
          frozen = undefined;
          thawing = table.thaw();
        }
        expect(table.size, `seed ${seed} step ${step}`).toBe(model.size);
        expect(table.get(key)).toBe(model.get(key));
        expect(table.has(key)).toBe(model.has(key));
        if (step % 97 === 0) expect(new Map(table.entries())).toEqual(model);
      }
      if (frozen !== undefined) await table.thaw();
      else await thawing;
      expect(new Map(table.entries())).toEqual(model);
      expect([...table.entries()]).toHaveLength(model.size);
    }
  });
});
