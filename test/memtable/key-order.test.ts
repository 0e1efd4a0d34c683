/**
 * Key order is UTF-8 byte order: `compareKeys` must agree in sign with
 * `Buffer.compare(Buffer.from(a), Buffer.from(b))` for every well-formed pair, and `sortedOrder`
 * must sort like that comparator. Keys reach the memtable checked by `checkKey` (src/codec.ts),
 * which rejects lone surrogates, so well-formed strings are the domain; for lone surrogates only
 * a consistent total order is asked.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/testing/index.js';
import { compareKeys, compareUnits, hasHighUnits, prefixSuccessor, sortedOrder } from '../../src/memtable/key-order.js';

/** A seeded source of numbers in [0, 1): the project's Prng. */
function random(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

/** Code points chosen to hit every boundary where UTF-16 and UTF-8 order could part. */
const interesting = [
  0x00, 0x01, 0x2f, 0x30, 0x41, 0x61, 0x7f, 0x80, 0xff, 0x100, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xe001, 0xfeff, 0xfffd, 0xfffe, 0xffff,
  0x10000, 0x10001, 0x1f600, 0x10fffe, 0x10ffff,
];

function randomKey(next: () => number, maxLength = 6): string {
  const length = Math.floor(next() * (maxLength + 1));
  let key = '';
  for (let i = 0; i < length; i++) {
    const pick = next();
    if (pick < 0.4) key += String.fromCharCode(0x61 + Math.floor(next() * 3));
    else if (pick < 0.8) key += String.fromCodePoint(interesting[Math.floor(next() * interesting.length)]);
    else if (pick < 0.9) key += String.fromCharCode(0xe000 + Math.floor(next() * 0x2000));
    else key += String.fromCodePoint(0x10000 + Math.floor(next() * 0x100000));
  }
  return key;
}

function bufferOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

describe('compareKeys', () => {
  it('agrees with Buffer.compare on random well-formed keys (astral, U+E000–U+FFFF, empty)', () => {
    const next = random(1);
    for (let i = 0; i < 50_000; i++) {
      const a = randomKey(next);
      const b = next() < 0.2 ? a + randomKey(next, 2) : randomKey(next);
      expect(Math.sign(compareKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(bufferOrder(a, b)));
    }
  });

  it('sorts astral characters above U+E000–U+FFFF, unlike <', () => {
    const astral = '\u{1f600}';
    const privateUse = '\ue000';
    expect(astral < privateUse).toBe(true); // UTF-16 order
    expect(compareKeys(astral, privateUse)).toBeGreaterThan(0);
    expect(compareKeys('a\u{10000}', 'a\uffff')).toBeGreaterThan(0);
    expect(compareKeys('\ud7ff', '\u{10000}')).toBeLessThan(0);
  });

  it('puts the empty key first and a prefix before its extensions', () => {
    expect(compareKeys('', '')).toBe(0);
    expect(compareKeys('', '\u0000')).toBeLessThan(0);
    expect(compareKeys('ab', 'abc')).toBeLessThan(0);
    expect(compareKeys('abc', 'ab')).toBeGreaterThan(0);
    expect(compareKeys('key:1', 'key:1')).toBe(0);
  });

  it('is a consistent total order even on lone surrogates (not a domain keys reach)', () => {
    const next = random(2);
    const units = [0x41, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
    const keys: string[] = [];
    for (let i = 0; i < 150; i++) {
      let key = '';
      const length = Math.floor(next() * 4);
      for (let j = 0; j < length; j++) key += String.fromCharCode(units[Math.floor(next() * units.length)]);
      keys.push(key);
    }
    const sorted = keys.slice().sort(compareKeys);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i; j < sorted.length; j++) {
        expect(compareKeys(sorted[i], sorted[j])).toBeLessThanOrEqual(0);
        expect(Math.sign(compareKeys(sorted[j], sorted[i])) + Math.sign(compareKeys(sorted[i], sorted[j]))).toBe(0);
      }
    }
  });
});

describe('compareUnits and hasHighUnits', () => {
  it('< is exact whenever one key has no unit at or above 0xD800', () => {
    const next = random(6);
    let checked = 0;
    for (let i = 0; i < 50_000; i++) {
      const a = randomKey(next);
      const b = randomKey(next);
      expect(hasHighUnits(a)).toBe([...a].some((c) => c.charCodeAt(0) >= 0xd800));
      if (hasHighUnits(a) && hasHighUnits(b)) continue;
      checked++;
      expect(Math.sign(compareUnits(a, b))).toBe(Math.sign(bufferOrder(a, b)));
    }
    expect(checked).toBeGreaterThan(5000);
    expect(hasHighUnits('key:0001')).toBe(false);
    expect(hasHighUnits('\ud7ff')).toBe(false);
    expect(hasHighUnits('a\ue000')).toBe(true);
    expect(hasHighUnits('a\u{10000}')).toBe(true);
  });
});

describe('prefixSuccessor', () => {
  it('bounds exactly the keys that start with the prefix', () => {
    const next = random(3);
    for (let i = 0; i < 20_000; i++) {
      const prefix = randomKey(next, 3);
      const key = next() < 0.5 ? prefix + randomKey(next, 2) : randomKey(next, 4);
      const successor = prefixSuccessor(prefix);
      const inside = compareKeys(prefix, key) <= 0 && (successor === undefined || compareKeys(key, successor) < 0);
      expect(inside, `${JSON.stringify(prefix)} ${JSON.stringify(key)} -> ${JSON.stringify(successor)}`).toBe(key.startsWith(prefix));
    }
  });

  it('steps over the surrogates, into the astral planes, and past U+10FFFF', () => {
    expect(prefixSuccessor('')).toBeUndefined();
    expect(prefixSuccessor('ab')).toBe('ac');
    expect(prefixSuccessor('a\ud7ff')).toBe('a\ue000');
    expect(prefixSuccessor('a\uffff')).toBe('a\u{10000}');
    expect(prefixSuccessor('a\u{1f600}')).toBe('a\u{1f601}');
    expect(prefixSuccessor('a\u{10ffff}')).toBe('b');
    expect(prefixSuccessor('\u{10ffff}\u{10ffff}')).toBeUndefined();
    for (const successor of [prefixSuccessor('a\uffff'), prefixSuccessor('a\u{1f600}'), prefixSuccessor('a\u{10ffff}')]) {
      expect(successor?.isWellFormed()).toBe(true);
    }
  });
});

describe('sortedOrder', () => {
  function expectSorted(keys: string[]): void {
    const order = sortedOrder(keys);
    const model = keys.map((_, i) => i).sort((i, j) => compareKeys(keys[i], keys[j]) || i - j);
    expect(Array.from(order)).toEqual(model);
  }

  it('sorts random keys like compareKeys, at every size around the radix cut-over', () => {
    const next = random(4);
    for (const count of [0, 1, 2, 3, 11, 12, 13, 100, 1000, 5000]) {
      expectSorted(Array.from({ length: count }, () => randomKey(next, 8)));
    }
  });

  it('sorts keys with long shared prefixes, different lengths, astral and wide units', () => {
    const next = random(5);
    const keys: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(next() * 1e6);
      const pick = i % 5;
      if (pick === 0) keys.push(`key:${String(n).padStart(12, '0')}`);
      else if (pick === 1) keys.push(`tenant/acme/users/${n % 100}/doc/${n}`);
      else if (pick === 2) keys.push(`key:${String(n % 1000)}${String.fromCodePoint(interesting[n % interesting.length])}`);
      else if (pick === 3) keys.push(`${'x'.repeat(40)}${randomKey(next, 3)}`);
      else keys.push(randomKey(next, 3));
    }
    keys.push('', 'key:', 'key');
    expectSorted(keys);
  });

  it('sorts long keys that share most of their units (64 KiB keys, runs tied for thousands of units)', () => {
    const next = random(8);
    const shared = 'p'.repeat(65_000);
    const keys: string[] = [];
    for (let i = 0; i < 200; i++) {
      const tail = String(Math.floor(next() * 1000)).padStart(3, '0');
      keys.push(i % 2 === 0 ? `${shared}${tail}` : `${shared.slice(0, 30_000)}\u{1f600}${tail}`);
    }
    keys.push('q', shared);
    expectSorted(keys);
  });

  it('keeps equal keys in input order, and detects input already in order', () => {
    const keys = ['b', 'a', 'b', 'a', '', 'b', ''];
    for (let i = 0; i < 40; i++) keys.push(i % 2 === 0 ? 'same-long-key-0123456789' : 'same-long-key-012345678');
    expectSorted(keys);
    const ascending = Array.from({ length: 1000 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    expect(Array.from(sortedOrder(ascending))).toEqual(ascending.map((_, i) => i));
    expect(Array.from(sortedOrder(ascending, true))).toEqual(ascending.map((_, i) => i));
    // In UTF-16 order but not in UTF-8 order: the check must not take it as sorted.
    const utf16Order = ['a', 'a\u{10000}', 'a\uffff'];
    expectSorted(utf16Order);
    expect(Array.from(sortedOrder(utf16Order))).toEqual([0, 2, 1]);
  });
});
