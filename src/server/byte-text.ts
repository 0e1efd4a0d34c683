/**
 * Redis keys and values are byte strings; the store's are text. The server maps one to the other so
 * that what a Redis client writes reads back byte for byte, and so that text reads as itself from
 * the store's own API (an app and `redis-cli` share the keys `user:42`, `café`, …):
 *
 *   bytes that are valid UTF-8, not starting with NUL   stored as that text
 *   valid UTF-8 starting with NUL                       "\u0000t" + text
 *   anything else                                       "\u0000b" + bytes, one character per byte
 *
 * It is the tagging the Level adapter uses for values (src/level/key-codec.ts), so a store shared
 * by both reads the same. Ordering: text keys sort by their UTF-8 bytes, which is Redis's order;
 * tagged keys sort before every key not starting with NUL.
 */
import { Buffer, isUtf8 } from 'node:buffer';

const tagCode = 0;
const textTag = '\u0000t';
const bytesTag = '\u0000b';
const textTagCode = 0x74; // 't'
const bytesTagCode = 0x62; // 'b'

/** The store string for bytes from the wire. */
export function textOf(bytes: Buffer): string {
  if (!isUtf8(bytes)) return bytesTag + bytes.toString('latin1');
  const text = bytes.toString('utf8');
  return bytes[0] === tagCode ? textTag + text : text;
}

/** The bytes (or text, written as UTF-8) to send for a store string written by `textOf` or any app. */
export function wireOf(stored: string): Buffer | string {
  if (stored.charCodeAt(0) !== tagCode || stored.length < 2) return stored;
  const kind = stored.charCodeAt(1);
  if (kind === textTagCode) return stored.slice(2);
  if (kind === bytesTagCode) return Buffer.from(stored.slice(2), 'latin1');
  return stored;
}

/** The length in bytes a client sees (STRLEN, APPEND's reply). */
export function wireBytes(stored: string): number {
  const wire = wireOf(stored);
  return typeof wire === 'string' ? Buffer.byteLength(wire, 'utf8') : wire.byteLength;
}

/** The wire bytes of a store string, as a Buffer (GETRANGE, SETRANGE, APPEND work on bytes). */
export function bytesOf(stored: string): Buffer {
  const wire = wireOf(stored);
  return typeof wire === 'string' ? Buffer.from(wire, 'utf8') : wire;
}
