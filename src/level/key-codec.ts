/**
 * Keys and values between abstract-level's formats and the store.
 *
 * The store's keys are strings ordered by their UTF-8 bytes; Level keys are byte strings ordered by
 * their bytes, given as 'utf8' strings, Buffers or Uint8Arrays. A Level key is stored as its bytes
 * with one character per byte (latin1): every such character is below U+0100, so the store's order
 * is exactly the byte order, any byte sequence round-trips, and a key reads back the same whichever
 * format wrote it. An ASCII string is its own byte string, so ASCII keys are stored as they are.
 *
 * Values are stored as strings (the store's 'utf8' encoding), so that text — what most Level apps
 * store, 'utf8' and 'json' — costs no conversion either way and reads as itself through the store's
 * own API. A value given as bytes is kept as one character per byte behind a two-character tag, and
 * so is text that happens to begin with U+0000 (the tag's first character), so every value
 * round-trips exactly and reads back in any format (src/tagged-bytes.ts, shared with the RESP server):
 *
 *   text not starting with U+0000   stored as itself
 *   text starting with U+0000       "\u0000t" + text
 *   bytes                           "\u0000b" + bytes, one character per byte (latin1)
 */
import { Buffer } from 'node:buffer';
import { InvalidArgumentError } from '../errors.js';
import { taggedBytes, taggedText, untagged } from '../tagged-bytes.js';

/** The formats abstract-level hands the adapter data in (its encodings declared native). */
export type LevelFormat = 'utf8' | 'buffer' | 'view';

export type LevelData = string | Uint8Array;

/** The store key for a Level key in any format. */
export function storeKey(key: LevelData): string {
  if (typeof key === 'string') return isAscii(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
  return bufferOf(key).toString('latin1');
}

/**
 * The store key for a key to write, checked against `keyBytesMax` in the key's own bytes (the
 * store's limit is on its stored form, where a byte at or above 0x80 takes two; the adapter gives
 * the store twice the room and keeps the user's limit here). Throws ERR_INVALID_ARG.
 */
export function checkedStoreKey(key: LevelData, keyBytesMax: number): string {
  const stored = storeKey(key);
  // One character per byte: the key's length in bytes is the stored key's length.
  if (stored.length > keyBytesMax) throw new InvalidArgumentError(`key is ${stored.length} bytes, over keyBytesMax (${keyBytesMax})`);
  return stored;
}

/** The Level key, in `format`, for a store key written by `storeKey`. */
export function levelKey(key: string, format: LevelFormat): LevelData {
  if (format === 'utf8') return isAscii(key) ? key : Buffer.from(key, 'latin1').toString('utf8');
  const bytes = Buffer.from(key, 'latin1');
  return format === 'view' ? plainView(bytes) : bytes;
}

/**
 * The store value for a Level value in any format, checked against `valueBytesMax` in the value's
 * own bytes (as keys are). Text with a lone surrogate is stored as its UTF-8 would decode (U+FFFD in
 * its place), as LevelDB stores it; the store refuses ill-formed strings. Throws ERR_INVALID_ARG.
 */
export function storeValue(value: LevelData, valueBytesMax: number): string {
  if (typeof value !== 'string') {
    if (value.byteLength > valueBytesMax) throw overLimit(value.byteLength, valueBytesMax);
    return taggedBytes(bufferOf(value));
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a long string needs measuring.
  if (value.length * 3 > valueBytesMax) {
    const valueBytes = Buffer.byteLength(value, 'utf8');
    if (valueBytes > valueBytesMax) throw overLimit(valueBytes, valueBytesMax);
  }
  return taggedText(value.isWellFormed() ? value : value.toWellFormed());
}

function overLimit(valueBytes: number, valueBytesMax: number): InvalidArgumentError {
  return new InvalidArgumentError(`value is ${valueBytes} bytes, over valueBytesMax (${valueBytesMax})`);
}

/** The Level value, in `format`, for a store value written by `storeValue` (or any string: untagged is text). */
export function levelValue(stored: string, format: LevelFormat): LevelData {
  const held = untagged(stored);
  if (typeof held === 'string') return textIn(held, format);
  const bytes = held;
  if (format === 'utf8') return bytes.toString('utf8');
  return format === 'view' ? plainView(bytes) : bytes;
}

function textIn(text: string, format: LevelFormat): LevelData {
  if (format === 'utf8') return text;
  const bytes = Buffer.from(text, 'utf8');
  return format === 'view' ? plainView(bytes) : bytes;
}

/** Whether every character is below U+0080: then, and only then, the UTF-8 is one byte per character. */
function isAscii(text: string): boolean {
  // Measured faster than a charCodeAt loop on keys read in random order (one native call).
  return Buffer.byteLength(text, 'utf8') === text.length;
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A Uint8Array that is not a Buffer, over the same memory: what the 'view' format promises. */
function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
