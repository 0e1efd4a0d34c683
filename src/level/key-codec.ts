/**
 * Keys and values between abstract-level's formats and the store.
 *
 * The store's keys are strings ordered by their UTF-8 bytes; Level keys are byte strings ordered by
 * their bytes, given as 'utf8' strings, Buffers or Uint8Arrays. A Level key is stored as its bytes
 * with one character per byte (latin1): every such character is below U+0100, so the store's order
 * is exactly the byte order, any byte sequence round-trips, and a key reads back the same whichever
 * format wrote it. An ASCII string is its own byte string, so ASCII keys are stored as they are.
 *
 * Values are stored as bytes (the store's 'binary' encoding): exact, whatever the format.
 */
import { Buffer } from 'node:buffer';

/** The formats abstract-level hands the adapter data in (its encodings declared native). */
export type LevelFormat = 'utf8' | 'buffer' | 'view';

export type LevelData = string | Uint8Array;

/** The store key for a Level key in any format. */
export function storeKey(key: LevelData): string {
  if (typeof key === 'string') return isAscii(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
  return bufferOf(key).toString('latin1');
}

/** The Level key, in `format`, for a store key written by `storeKey`. */
export function levelKey(key: string, format: LevelFormat): LevelData {
  if (format === 'utf8') return isAscii(key) ? key : Buffer.from(key, 'latin1').toString('utf8');
  const bytes = Buffer.from(key, 'latin1');
  return format === 'view' ? plainView(bytes) : bytes;
}

/** The bytes to store for a Level value in any format (the store copies them). */
export function storeValue(value: LevelData): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** The Level value, in `format`, for bytes the store handed out (a copy the caller may keep). */
export function levelValue(bytes: Uint8Array, format: LevelFormat): LevelData {
  if (format === 'utf8') return bufferOf(bytes).toString('utf8');
  return format === 'view' ? plainView(bytes) : bufferOf(bytes);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A Uint8Array that is not a Buffer, over the same memory: what the 'view' format promises. */
function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
