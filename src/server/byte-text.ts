/**
 * Redis keys and values are byte strings; the store's are text. The server maps one to the other so
 * that what a Redis client writes reads back byte for byte, and so that text reads as itself from
 * the store's own API (an app and `redis-cli` share the keys `user:42`, `café`, …):
 *
 *   bytes that are valid UTF-8, not starting with NUL   stored as that text
 *   valid UTF-8 starting with NUL                       "\u0000t" + text
 *   anything else                                       "\u0000b" + bytes, one character per byte
 *
 * The tagging is src/tagged-bytes.ts, shared with the Level adapter's values, so a store shared by
 * both reads the same. Ordering: text keys sort by their UTF-8 bytes, which is Redis's order;
 * tagged keys sort before every key not starting with NUL.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { taggedBytes, taggedText, untagged } from '../tagged-bytes.js';

/** The store string for bytes from the wire. */
export function textOf(bytes: Buffer): string {
  return isUtf8(bytes) ? taggedText(bytes.toString('utf8')) : taggedBytes(bytes);
}

/** The bytes (or text, written as UTF-8) to send for a store string written by `textOf` or any app. */
export function wireOf(stored: string): Buffer | string {
  return untagged(stored);
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
