import { describe, expect, it } from 'vitest';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { crc32c, crc32cInJs, crc32cRange, jsCrcBytesMax } from '../../src/format/crc32c.js';
import { Prng } from '../../src/testing/prng.js';

function native(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return nativeCrc32c(Buffer.from(bytes.subarray(start, end)), initial) >>> 0;
}

describe('crc32c', () => {
  it('gives the standard check value for "123456789" (0xe3069283)', () => {
    const check = Buffer.from('123456789');
    expect(crc32cInJs(check, 0, check.byteLength)).toBe(0xe3069283);
    expect(crc32c(check)).toBe(0xe3069283);
  });

  it('matches the native library for every length 0..600 at random offsets, on both sides of the JS cut-off', () => {
    const prng = new Prng(0x5eed);
    const bytes = Buffer.alloc(4096);
    for (let index = 0; index < bytes.byteLength; index++) bytes[index] = prng.int(256);
    for (let length = 0; length <= 600; length++) {
      const start = prng.int(bytes.byteLength - length);
      const expected = native(bytes, start, start + length);
      expect(crc32cInJs(bytes, start, start + length), `length ${length}`).toBe(expected);
      expect(crc32cRange(bytes, start, start + length), `length ${length}`).toBe(expected);
    }
    expect(jsCrcBytesMax).toBeLessThan(600);
  });

  it('continues a running CRC exactly as the native library does', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog, twice over the lazy dog');
    for (const cut of [0, 1, 7, 8, 9, 33, data.byteLength]) {
      const first = crc32cInJs(data, 0, cut);
      expect(crc32cInJs(data, cut, data.byteLength, first)).toBe(native(data, 0, data.byteLength));
      expect(crc32cRange(data, cut, data.byteLength, first)).toBe(native(data, cut, data.byteLength, first));
    }
  });

  it('changes when any single bit of a record-sized input flips', () => {
    const data = Buffer.alloc(130, 0x61);
    const clean = crc32cRange(data, 0, data.byteLength);
    for (let bit = 0; bit < data.byteLength * 8; bit++) {
      data[bit >> 3] ^= 1 << (bit & 7);
      expect(crc32cRange(data, 0, data.byteLength)).not.toBe(clean);
      data[bit >> 3] ^= 1 << (bit & 7);
    }
  });
});
