/**
 * How DurableLevel maps Level keys and values to the store: every byte string round-trips in every
 * format, the store's order (UTF-8 bytes of its keys) is the Level order (the bytes), a key is the
 * same key whichever format wrote it, ASCII keys are stored as themselves, and values keep their bytes.
 */
import { describe, expect, it } from 'vitest';
import { checkedStoreKey, levelKey, levelValue, storeKey, storeValue } from '../../src/level/key-codec.js';
import { storeRange } from '../../src/level/cursor.js';
import { deleteChunks } from '../../src/level/delete-chunks.js';
import { Prng } from '../../src/testing/index.js';
import { expectCode, thrownBy } from '../helpers/errors.js';

function randomBytes(prng: Prng, lengthMax: number): Buffer {
  const bytes = Buffer.alloc(prng.int(lengthMax + 1));
  // Bias towards the bytes where encodings go wrong: 0x00, 0x7f/0x80, 0xc0-0xff.
  const edges = [0x00, 0x01, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xef, 0xf0, 0xff];
  for (let i = 0; i < bytes.length; i++) bytes[i] = prng.chance(0.5) ? edges[prng.int(edges.length)] : prng.int(256);
  return bytes;
}

const noLimit = Number.MAX_SAFE_INTEGER;

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
  it('keep their bytes in every format: bytes round-trip exactly, read as Buffer, view or their UTF-8 text', () => {
    const prng = new Prng(16);
    for (let i = 0; i < 1_000; i++) {
      const bytes = randomBytes(prng, 64);
      const stored = storeValue(bytes, noLimit);
      expect(Buffer.compare(levelValue(stored, 'buffer') as Buffer, bytes)).toBe(0);
      expect(Buffer.compare(Buffer.from(levelValue(stored, 'view') as Uint8Array), bytes)).toBe(0);
      expect(Buffer.isBuffer(levelValue(stored, 'view'))).toBe(false);
      expect(levelValue(stored, 'utf8')).toBe(bytes.toString('utf8'));
      expect(storeValue(new Uint8Array(bytes), noLimit)).toBe(stored);
    }
  });

  it('store text as itself (what the store API reads), and it reads back as its UTF-8 in byte formats', () => {
    for (const text of ['', 'plain', '{"json":true}', 'é😀', 'b', 't']) {
      expect(storeValue(text, noLimit)).toBe(text);
      expect(levelValue(text, 'utf8')).toBe(text);
      expect((levelValue(text, 'buffer') as Buffer).toString('hex')).toBe(Buffer.from(text, 'utf8').toString('hex'));
    }
  });

  it('tell text that begins with U+0000 from bytes: both round-trip', () => {
    for (const text of ['\u0000', '\u0000b', '\u0000t', '\u0000bytes?', '\u0000\u0000']) {
      const stored = storeValue(text, noLimit);
      expect(levelValue(stored, 'utf8')).toBe(text);
      const asBytes = storeValue(Buffer.from(text, 'utf8'), noLimit);
      expect(levelValue(asBytes, 'utf8')).toBe(text);
      expect(stored).not.toBe(asBytes);
    }
  });

  it('store text with a lone surrogate as UTF-8 would (U+FFFD), as LevelDB does, instead of refusing it', () => {
    expect(storeValue('a\ud800b', noLimit)).toBe('a\ufffdb');
  });

  it('read a value the plain store API wrote as text, whatever it holds', () => {
    expect(levelValue('\u0000', 'utf8')).toBe('\u0000');
    expect(levelValue('\u0000x', 'utf8')).toBe('\u0000x');
  });
});

describe("limits, in the Level key's and value's own bytes", () => {
  it('a key or value of exactly the limit is taken, whatever its bytes; one byte more is ERR_INVALID_ARG', () => {
    for (const byte of [0x41, 0xff]) {
      expect(storeKey(Buffer.alloc(16, byte))).toBe(checkedStoreKey(Buffer.alloc(16, byte), 16));
      expectCode(
        thrownBy(() => checkedStoreKey(Buffer.alloc(17, byte), 16)),
        'ERR_INVALID_ARG',
      );
      expect(levelValue(storeValue(Buffer.alloc(1024, byte), 1024), 'buffer')).toEqual(Buffer.alloc(1024, byte));
      expectCode(
        thrownBy(() => storeValue(Buffer.alloc(1025, byte), 1024)),
        'ERR_INVALID_ARG',
      );
    }
    expect(checkedStoreKey('é'.repeat(8), 16)).toBe(storeKey('é'.repeat(8)));
    expectCode(
      thrownBy(() => checkedStoreKey(`${'é'.repeat(8)}a`, 16)),
      'ERR_INVALID_ARG',
    );
    expect(storeValue('€'.repeat(10), 30)).toBe('€'.repeat(10));
    expectCode(
      thrownBy(() => storeValue(`${'€'.repeat(10)}a`, 30)),
      'ERR_INVALID_ARG',
    );
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

describe('clear({ snapshot }) batches', () => {
  it('cut keys into runs within batchOpsMax and the bytes of keys, in order, at least one key each', () => {
    const keys = ['a', 'bb', 'ccc', 'dddd', 'e', 'f', 'gggggggggg'];
    expect([...deleteChunks(keys, 3, Number.MAX_SAFE_INTEGER)]).toEqual([['a', 'bb', 'ccc'], ['dddd', 'e', 'f'], ['gggggggggg']]);
    // Two bytes a character at most: 'a' 2, 'bb' 4, 'ccc' 6 → 12 > 10 cuts before 'ccc'.
    expect([...deleteChunks(keys, 100, 10)]).toEqual([['a', 'bb'], ['ccc'], ['dddd', 'e'], ['f'], ['gggggggggg']]);
    expect([...deleteChunks([], 3, 10)]).toEqual([]);
    expect([...deleteChunks(keys, 100, 10)].flat()).toEqual(keys);
  });
});
