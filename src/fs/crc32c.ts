import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli), from @node-rs/crc32: SIMD/hardware-accelerated native code, maintained, and the
 * same polynomial LevelDB, RocksDB and ext4 use for their checksums. `initial` continues a running CRC.
 */
export function crc32c(data: Uint8Array, initial = 0): number {
  return nativeCrc32c(data as Buffer, initial) >>> 0;
}
