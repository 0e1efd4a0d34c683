import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli): the polynomial LevelDB, RocksDB and ext4 use for their checksums.
 *
 * Long inputs go to @node-rs/crc32 (SIMD/hardware-accelerated native code, maintained). Short ones,
 * which is every WAL record of a typical put, are done here in JavaScript: for a 130-byte record the
 * N-API call plus the `subarray` view it needs cost about 150 ns, a slice-by-8 table walk about
 * 85 ns (measured on Node 20). `crc32cRange` needs no view at all. Both paths are checked against
 * each other by test/format/crc32c.test.ts.
 */
export function crc32c(data: Uint8Array, initial = 0): number {
  return crc32cRange(data, 0, data.byteLength, initial);
}

/** The CRC32C of `bytes[start, end)`, continuing from `initial`. */
export function crc32cRange(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  if (end - start > jsCrcBytesMax) return nativeCrc32c(bytes.subarray(start, end) as Buffer, initial) >>> 0;
  return crc32cInJs(bytes, start, end, initial);
}

/** Where the native call starts to win: past this its fixed cost is paid back by SIMD. */
export const jsCrcBytesMax = 256;

const castagnoliReversed = 0x82f63b78;

/** tables[t * 256 + b]: the CRC of byte b followed by t zero bytes (slice-by-8). */
const tables = buildTables();

function buildTables(): Int32Array {
  const table = new Int32Array(256 * 8);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ castagnoliReversed : crc >>> 1;
    table[byte] = crc;
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = table[byte];
    for (let slice = 1; slice < 8; slice++) {
      crc = table[crc & 0xff] ^ (crc >>> 8);
      table[slice * 256 + byte] = crc;
    }
  }
  return table;
}

/** Exported for the test that checks it against the native path; use `crc32cRange`. */
export function crc32cInJs(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  const t = tables;
  let crc = ~initial;
  let at = start;
  for (; at + 8 <= end; at += 8) {
    const low = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) ^ crc;
    const high = bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24);
    crc =
      t[1792 + (low & 0xff)] ^
      t[1536 + ((low >>> 8) & 0xff)] ^
      t[1280 + ((low >>> 16) & 0xff)] ^
      t[1024 + (low >>> 24)] ^
      t[768 + (high & 0xff)] ^
      t[512 + ((high >>> 8) & 0xff)] ^
      t[256 + ((high >>> 16) & 0xff)] ^
      t[high >>> 24];
  }
  for (; at < end; at++) crc = t[(crc ^ bytes[at]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
