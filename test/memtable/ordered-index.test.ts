/**
 * The ordered index, by trait: key order, bounds (with prefix, reverse and limit), option checks,
 * consistency of a view against later writes, and agreement with a naive model (all keys sorted
 * with the comparator, then filtered) over seeded random operations.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/testing/index.js';
import { compareKeys } from '../../src/memtable/key-order.js';
import { OrderedIndex } from '../../src/memtable/ordered-index.js';
import { inRange, normalizeRange, type RangeOptions, rangeOptionsProblem } from '../../src/memtable/range-options.js';
import type { StoredValue } from '../../src/types.js';

/** A seeded source of numbers in [0, 1): the project's Prng. */
function random(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

function indexOf(keys: readonly string[]): OrderedIndex<StoredValue> {
  const index = OrderedIndex.empty<StoredValue>();
  for (const key of keys) index.set(key, `v:${key}`);
  return index;
}

function keysIn(index: OrderedIndex<StoredValue>, options?: RangeOptions): string[] {
  return Array.from(index.range(options), ([key]) => key);
}

/** What a range must yield: every key sorted by the comparator, filtered, reversed, limited. */
function model(entries: ReadonlyMap<string, StoredValue>, options?: RangeOptions): [string, StoredValue][] {
  const range = normalizeRange(options);
  const all = [...entries.keys()].sort(compareKeys).filter((key) => inRange(range, key));
  if (range.reverse) all.reverse();
  return all
    .slice(0, range.limit === Number.POSITIVE_INFINITY ? undefined : range.limit)
    .map((key) => [key, entries.get(key) as StoredValue]);
}

const letters = ['', 'a', 'aa', 'ab', 'abc', 'b', 'ba', 'c'];

describe('ordering', () => {
  it('walks in UTF-8 byte order: astral characters after U+E000–U+FFFF, the empty key first', () => {
    const keys = ['\u{1f600}', '\uffff', '\ue000', 'z', '', '\u{10000}', 'a\u{1f600}', 'a\uffff', '\u00e9', 'a'];
    const index = indexOf(keys);
    const expected = keys.slice().sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(keysIn(index)).toEqual(expected);
    expect(keysIn(index)[0]).toBe('');
    expect(keysIn(index, { reverse: true })).toEqual(expected.slice().reverse());
  });

  it('builds from unsorted entries or a map in the same order, and rejects duplicate keys', () => {
    const keys = ['b', '', '\u{1f600}', '\uffff', 'a', 'ab'];
    const fromEntries = OrderedIndex.fromEntries(
      keys,
      keys.map((key) => `v:${key}`),
    );
    const fromMap = OrderedIndex.fromMap(new Map(keys.map((key) => [key, `v:${key}`])));
    expect(keysIn(fromEntries)).toEqual(keysIn(indexOf(keys)));
    expect([...fromMap.range()]).toEqual([...indexOf(keys).range()]);
    expect(fromMap.get('\u{1f600}')).toBe('v:\u{1f600}');
    expect(() => OrderedIndex.fromEntries(['a', 'b', 'a'], ['1', '2', '3'])).toThrow(/duplicate key/);
    // The build's trusted order leaves a working comparator behind: later writes land in order.
    fromMap.set('aa', 'x');
    fromMap.set('\ue000', 'y');
    expect(keysIn(fromMap)).toEqual(keysIn(indexOf([...keys, 'aa', '\ue000'])));
  });

  it('stays in UTF-8 order when the first key beyond U+D7FF arrives after a snapshot', () => {
    for (const build of [
      () => indexOf(['b', 'a', 'c']),
      () =>
        OrderedIndex.fromMap(
          new Map([
            ['b', '1'],
            ['a', '2'],
            ['c', '3'],
          ]),
        ),
    ]) {
      const index = build();
      const before = index.snapshot();
      for (const key of ['a\uffff', 'a\u{10000}', 'a\ue000', 'a\u{1f600}', '\u{10ffff}', '\uffff']) index.set(key, 'x');
      expect(keysIn(index)).toEqual(['a', 'a\ue000', 'a\uffff', 'a\u{10000}', 'a\u{1f600}', 'b', 'c', '\uffff', '\u{10ffff}']);
      expect(keysIn(index, { gt: 'a\uffff', lt: '\uffff' })).toEqual(['a\u{10000}', 'a\u{1f600}', 'b', 'c']);
      expect(index.get('a\u{10000}')).toBe('x');
      expect(Array.from(before.range(), ([key]) => key)).toEqual(['a', 'b', 'c']);
      expect(Array.from(before.range({ gt: 'a\uffff' }), ([key]) => key)).toEqual(['b', 'c']);
    }
  });

  it('tells each snapshot whether every key in it is ASCII, built or written, and never wrongly', () => {
    const built = OrderedIndex.fromMap(
      new Map([
        ['b', '1'],
        ['a', '2'],
      ]),
    );
    const written = indexOf(['b', 'a']);
    for (const index of [built, written]) {
      const ascii = index.snapshot();
      expect(ascii.asciiOnly).toBe(true);
      index.set('\u0080', 'x'); // the first unit above ASCII, below the high units
      expect(index.snapshot().asciiOnly).toBe(false);
      expect(ascii.asciiOnly).toBe(true); // a snapshot keeps what held when it was taken
      index.delete('\u0080');
      expect(index.snapshot().asciiOnly).toBe(false); // "not known" after a delete: safe
    }
    expect(OrderedIndex.fromEntries(['a', '\u00e9'], ['1', '2']).snapshot().asciiOnly).toBe(false);
    expect(OrderedIndex.fromEntries(['\u{1f600}', 'a'], ['1', '2']).snapshot().asciiOnly).toBe(false);
    expect(OrderedIndex.fromEntries(['\u007f', ''], ['1', '2']).snapshot().asciiOnly).toBe(true);
  });

  it('gets, overwrites and deletes', () => {
    const index = indexOf(['a', 'b']);
    expect(index.get('a')).toBe('v:a');
    index.set('a', new Uint8Array([1]));
    expect(index.get('a')).toEqual(new Uint8Array([1]));
    expect(index.size).toBe(2);
    expect(index.delete('a')).toBe(true);
    expect(index.delete('a')).toBe(false);
    expect(index.get('a')).toBeUndefined();
    expect(index.size).toBe(1);
  });
});

describe('bounds', () => {
  const index = indexOf(letters);

  it('applies each of gt, gte, lt, lte', () => {
    expect(keysIn(index, { gt: 'ab' })).toEqual(['abc', 'b', 'ba', 'c']);
    expect(keysIn(index, { gte: 'ab' })).toEqual(['ab', 'abc', 'b', 'ba', 'c']);
    expect(keysIn(index, { lt: 'ab' })).toEqual(['', 'a', 'aa']);
    expect(keysIn(index, { lte: 'ab' })).toEqual(['', 'a', 'aa', 'ab']);
    expect(keysIn(index, { gt: '' })).toEqual(letters.slice(1));
    expect(keysIn(index, { gte: '' })).toEqual(letters);
    expect(keysIn(index, { lte: '' })).toEqual(['']);
    expect(keysIn(index, { gt: 'a', lt: 'b' })).toEqual(['aa', 'ab', 'abc']);
    expect(keysIn(index, { gte: 'a', lte: 'b' })).toEqual(['a', 'aa', 'ab', 'abc', 'b']);
    // Bounds that are not keys.
    expect(keysIn(index, { gt: 'ab0', lt: 'bb' })).toEqual(['abc', 'b', 'ba']);
  });

  it('combines a prefix with the bounds (the stricter wins)', () => {
    expect(keysIn(index, { prefix: 'a' })).toEqual(['a', 'aa', 'ab', 'abc']);
    expect(keysIn(index, { prefix: 'a', gt: 'a' })).toEqual(['aa', 'ab', 'abc']);
    expect(keysIn(index, { prefix: 'a', gte: '' })).toEqual(['a', 'aa', 'ab', 'abc']);
    expect(keysIn(index, { prefix: 'a', lt: 'ab' })).toEqual(['a', 'aa']);
    expect(keysIn(index, { prefix: 'a', lte: 'z' })).toEqual(['a', 'aa', 'ab', 'abc']);
    expect(keysIn(index, { prefix: 'ab', reverse: true })).toEqual(['abc', 'ab']);
    expect(keysIn(index, { prefix: 'a', lt: 'ab', reverse: true })).toEqual(['aa', 'a']);
    expect(keysIn(index, { prefix: '' })).toEqual(letters);
    expect(keysIn(index, { prefix: 'abcd' })).toEqual([]);
    expect(keysIn(index, { prefix: 'abcd', reverse: true })).toEqual([]);
  });

  it('handles prefixes ending in U+D7FF, U+FFFF, astral characters and U+10FFFF', () => {
    const keys = [
      'a\ud7ff',
      'a\ud7ffz',
      'a\ue000',
      'a\uffff',
      'a\uffff\u{10000}',
      'a\u{10000}',
      'a\u{1f600}',
      'a\u{1f600}x',
      'a\u{1f601}',
      'a\u{10ffff}',
      'a\u{10ffff}!',
      'b',
    ];
    const special = indexOf(keys);
    for (const prefix of ['a\ud7ff', 'a\uffff', 'a\u{1f600}', 'a\u{10ffff}', 'a']) {
      const expected = keys.filter((key) => key.startsWith(prefix)).sort(compareKeys);
      expect(keysIn(special, { prefix })).toEqual(expected);
      expect(keysIn(special, { prefix, reverse: true })).toEqual(expected.slice().reverse());
    }
  });

  it('yields nothing for empty ranges', () => {
    expect(keysIn(index, { gt: 'b', lt: 'b' })).toEqual([]);
    expect(keysIn(index, { gte: 'c', lte: 'a' })).toEqual([]);
    expect(keysIn(index, { gte: 'c', lte: 'a', reverse: true })).toEqual([]);
    expect(keysIn(index, { gt: 'c' })).toEqual([]);
    expect(keysIn(index, { lt: '' })).toEqual([]);
    expect(keysIn(index, { prefix: 'b', lt: 'b' })).toEqual([]);
    expect(keysIn(OrderedIndex.empty(), { reverse: true })).toEqual([]);
  });

  it('walks in reverse and counts the limit after reversing', () => {
    expect(keysIn(index, { reverse: true, limit: 3 })).toEqual(['c', 'ba', 'b']);
    expect(keysIn(index, { limit: 3 })).toEqual(['', 'a', 'aa']);
    expect(keysIn(index, { gt: 'a', lte: 'b', reverse: true })).toEqual(['b', 'abc', 'ab', 'aa']);
    expect(keysIn(index, { gte: 'a', lt: 'b', reverse: true, limit: 2 })).toEqual(['abc', 'ab']);
    expect(keysIn(index, { limit: 0 })).toEqual([]);
    expect(keysIn(index, { limit: Number.POSITIVE_INFINITY })).toEqual(letters);
  });
});

describe('options', () => {
  it('throws at the call, not at the first step, with a clear message', () => {
    const index = indexOf(letters);
    const bad: [unknown, RegExp][] = [
      [null, /must be an object/],
      ['a', /must be an object/],
      [{ gt: 1 }, /'gt' must be a string/],
      [{ gt: 'a', gte: 'b' }, /'gt' and 'gte'/],
      [{ lt: 'a', lte: 'b' }, /'lt' and 'lte'/],
      [{ prefix: '\ud800' }, /lone surrogate/],
      [{ reverse: 'yes' }, /'reverse' must be a boolean/],
      [{ limit: -1 }, /non-negative integer or Infinity/],
      [{ limit: 1.5 }, /non-negative integer or Infinity/],
      [{ limit: Number.NaN }, /non-negative integer or Infinity/],
      [{ revrese: true }, /unknown range option 'revrese'/],
    ];
    for (const [options, message] of bad) {
      expect(() => index.range(options as RangeOptions), JSON.stringify(options)).toThrow(TypeError);
      expect(() => index.range(options as RangeOptions)).toThrow(message);
      expect(rangeOptionsProblem(options)).toMatch(message);
    }
    expect(rangeOptionsProblem(undefined)).toBeUndefined();
    expect(rangeOptionsProblem({ gt: undefined, limit: 0, reverse: false, prefix: '' })).toBeUndefined();
  });

  it('normalises the prefix into the lower bound', () => {
    expect(normalizeRange({ prefix: 'b', gt: 'a' })).toMatchObject({ lower: 'b', lowerInclusive: true, prefix: 'b' });
    expect(normalizeRange({ prefix: 'b', gt: 'b' })).toMatchObject({ lower: 'b', lowerInclusive: false });
    expect(normalizeRange({ prefix: 'b', gte: 'bc' })).toMatchObject({ lower: 'bc', lowerInclusive: true });
    expect(normalizeRange()).toEqual({
      lower: undefined,
      lowerInclusive: true,
      upper: undefined,
      upperInclusive: true,
      prefix: '',
      reverse: false,
      limit: Number.POSITIVE_INFINITY,
    });
  });
});

describe('consistency', () => {
  it('a snapshot is unchanged by later writes and deletes', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    const index = indexOf(keys);
    const snapshot = index.snapshot();
    const before = [...snapshot.range()];
    for (let i = 0; i < 5000; i += 2) index.delete(keys[i]);
    for (let i = 0; i < 5000; i += 3) index.set(keys[i], 'changed');
    for (let i = 0; i < 3000; i++) index.set(`j${i}`, 'new');
    expect([...snapshot.range()]).toEqual(before);
    expect(snapshot.size).toBe(5000);
    expect(snapshot.get(keys[0])).toBe(`v:${keys[0]}`);
    expect(index.get(keys[0])).toBe('changed');
    expect(index.size).not.toBe(5000);
  });

  it('a range paused mid-way yields the entries as of its call, whatever is written meanwhile', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    const index = indexOf(keys);
    const expected = [...index.range({ gte: 'k00100', reverse: true })];
    const walk = index.range({ gte: 'k00100', reverse: true });
    const seen: [string, StoredValue][] = [];
    const next = random(7);
    for (const entry of walk) {
      seen.push(entry);
      // Write around the walk's position: deletes ahead, inserts behind and ahead, overwrites.
      const k = keys[Math.floor(next() * keys.length)];
      if (next() < 0.5) index.delete(k);
      else index.set(k, 'overwritten');
      index.set(`${entry[0]}-inserted`, 'new');
    }
    expect(seen).toEqual(expected);
  });
});

describe('against a naive model', () => {
  const alphabet = ['', 'a', 'b', 'ab', '\u00e9', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', 'k:', '/'];

  function randomKey(next: () => number): string {
    let key = '';
    const parts = Math.floor(next() * 4);
    for (let i = 0; i < parts; i++) key += alphabet[Math.floor(next() * alphabet.length)];
    return key;
  }

  function randomOptions(next: () => number): RangeOptions {
    const options: RangeOptions = {};
    if (next() < 0.4) options[next() < 0.5 ? 'gt' : 'gte'] = randomKey(next);
    if (next() < 0.4) options[next() < 0.5 ? 'lt' : 'lte'] = randomKey(next);
    if (next() < 0.4) options.prefix = randomKey(next);
    if (next() < 0.5) options.reverse = true;
    if (next() < 0.3) options.limit = Math.floor(next() * 6);
    return options;
  }

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`agrees over random writes, deletes, snapshots and ranges (seed ${seed})`, () => {
      const next = random(seed);
      const live = new Map<string, StoredValue>();
      const start = Array.from({ length: 200 }, () => randomKey(next));
      for (const key of start) live.set(key, `v0:${key}`);
      const index = seed % 2 === 0 ? OrderedIndex.fromMap(live) : indexOf([]);
      if (seed % 2 === 1) for (const [key, value] of live) index.set(key, value);
      const snapshots: { snapshot: ReturnType<OrderedIndex<StoredValue>['snapshot']>; entries: Map<string, StoredValue> }[] = [];
      for (let step = 0; step < 2000; step++) {
        const roll = next();
        const key = randomKey(next);
        if (roll < 0.45) {
          live.set(key, `v${step}`);
          index.set(key, `v${step}`);
        } else if (roll < 0.7) {
          expect(index.delete(key)).toBe(live.delete(key));
        } else if (roll < 0.75) {
          snapshots.push({ snapshot: index.snapshot(), entries: new Map(live) });
        } else {
          const options = randomOptions(next);
          expect([...index.range(options)], JSON.stringify(options)).toEqual(model(live, options));
          if (snapshots.length > 0) {
            const { snapshot, entries } = snapshots[Math.floor(next() * snapshots.length)];
            expect([...snapshot.range(options)]).toEqual(model(entries, options));
          }
        }
        expect(index.size).toBe(live.size);
      }
    });
  }
});
