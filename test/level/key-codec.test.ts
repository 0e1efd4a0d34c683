/**
 * How DurableLevel maps Level keys and values to the store: every byte string round-trips in every
 * format, the store's order (UTF-8 bytes of its keys) is the Level order (the bytes), a key is the
 * same key whichever format wrote it, ASCII keys are stored as themselves, and values keep their bytes.
 */
import { describe, expect, it } from 'vitest';
import { levelKey, levelValue, storeKey, storeValue } from '../../src/level/key-codec.js';
import { storeRange } from '../../src/level/cursor.js';
import { Prng } from '../../src/testing/index.js';

function randomBytes(prng: Prng, lengthMax: number): Buffer {
  const bytes = Buffer.alloc(prng.int(lengthMax + 1));
  // Bias towards the bytes where encodings go wrong: 0x00, 0x7f/0x80, 0xc0-0xff.
  const edges = [0x00, 0x01, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xef, 0xf0, 0xff];
  for (let i = 0; i < bytes.length; i++) bytes[i] = prng.chance(0.5) ? edges[prng.int(edges.length)] : prng.int(256);
  return bytes;
}

/** The store orders keys by their UTF-8 bytes. */
const storeOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('keys', () => {
  it('every byte string round-trips through the store key, as a Buffer, a view and (when valid UTF-8) a string', () => {
    const prng = new Prng(14);
    for (let i = 0; i < 5_000; i++) {
      const bytes = randomBytes(prng, 24);
      const key = storeKey(bytes);
      expect(Buffer.compare(levelKey(key, 'buffer') as Buffer, bytes)).toBe(0);
      const view = levelKey(key, 'view') as Uint8Array;
      expect(Buffer.isBuffer(view)).toBe(false);
      expect(Buffer.compare(Buffer.from(view), bytes)).toBe(0);
      expect(storeKey(new Uint8Array(bytes))).toBe(key);
    }
  });

  it("orders store keys exactly as their bytes: the store's order is Level's", () => {
    const prng = new Prng(15);
    const keys = Array.from({ length: 3_000 }, () => randomBytes(prng, 8));
    const byBytes = [...keys].sort(Buffer.compare).map((bytes) => storeKey(bytes));
    const byStore = keys.map((bytes) => storeKey(bytes)).sort(storeOrder);
    expect(byStore).toEqual(byBytes);
    // And `<` on store keys (what seek and the bound choice use) agrees with the store's order.
    for (let i = 1; i < byStore.length; i++) if (byStore[i - 1] !== byStore[i]) expect(byStore[i - 1] < byStore[i]).toBe(true);
  });

  it('a string key and the Buffer of its UTF-8 bytes are the same key', () => {
    for (const text of ['', 'a', 'key:1', 'é', 'ÿ', '€', '😀', 'a\u0000b', 'mixed é and 😀', '\u007f\u0080']) {
      expect(storeKey(text)).toBe(storeKey(Buffer.from(text, 'utf8')));
      expect(levelKey(storeKey(text), 'utf8')).toBe(text);
    }
  });

  it('stores an ASCII key as itself, so it reads the same through the plain store API', () => {
    expect(storeKey('user:42/profile')).toBe('user:42/profile');
    expect(storeKey('é')).not.toBe('é');
  });
});

describe('values', () => {
  it('keep their bytes in every format, strings as their UTF-8', () => {
    const prng = new Prng(16);
    for (let i = 0; i < 1_000; i++) {
      const bytes = randomBytes(prng, 64);
      expect(Buffer.compare(Buffer.from(storeValue(bytes)), bytes)).toBe(0);
      expect(Buffer.compare(levelValue(bytes, 'buffer') as Buffer, bytes)).toBe(0);
      expect(Buffer.isBuffer(levelValue(bytes, 'view'))).toBe(false);
    }
    expect(Buffer.from(storeValue('é😀')).toString('hex')).toBe(Buffer.from('é😀', 'utf8').toString('hex'));
    expect(levelValue(Buffer.from('é😀', 'utf8'), 'utf8')).toBe('é😀');
  });
});

describe('range options', () => {
  it('maps bounds to store keys; when both bounds of a side are given the inclusive one wins, as abstract-level requires', () => {
    const formats = { keyEncoding: 'utf8' as const, valueEncoding: 'utf8' as const };
    expect(storeRange({ ...formats, gt: 'a', gte: 'b', lt: 'y', lte: 'x' }, true)).toEqual({ reverse: false, gte: 'b', lte: 'x' });
    expect(storeRange({ ...formats, gt: Buffer.from([0xff]), reverse: true, limit: 3 }, true)).toEqual({
      reverse: true,
      gt: 'ÿ',
      limit: 3,
    });
    expect(storeRange({ ...formats, limit: -1 }, true)).toEqual({ reverse: false });
    expect(storeRange({ ...formats, limit: 3 }, false)).toEqual({ reverse: false });
  });
});
