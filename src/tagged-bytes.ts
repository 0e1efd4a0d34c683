/**
 * Byte strings kept in a store of text, by the layers above the store that need them (the Level
 * adapter's values, the RESP server's keys and values), so that text stays text — readable through
 * the store's own API — and any bytes round-trip exactly:
 *
 *   text not starting with U+0000    stored as itself
 *   text starting with U+0000        "\u0000t" + text
 *   bytes                            "\u0000b" + bytes, one character per byte (latin1)
 *
 * One tagging for both layers, so a store written through either reads the same through the other.
 */
import { Buffer } from 'node:buffer';

const tagCode = 0;
const textTag = '\u0000t';
const bytesTag = '\u0000b';
const textTagCode = 0x74; // 't'
const bytesTagCode = 0x62; // 'b'

/** The stored form of text: itself, or behind the text tag when it begins with the tag's first character. */
export function taggedText(text: string): string {
  return text.charCodeAt(0) === tagCode ? textTag + text : text;
}

/** The stored form of bytes. */
export function taggedBytes(bytes: Buffer): string {
  return bytesTag + bytes.toString('latin1');
}

/** What a stored string holds: text (any untagged string is text), or the bytes it was given. */
export function untagged(stored: string): string | Buffer {
  if (stored.charCodeAt(0) !== tagCode || stored.length < 2) return stored;
  const kind = stored.charCodeAt(1);
  if (kind === textTagCode) return stored.slice(2);
  if (kind === bytesTagCode) return Buffer.from(stored.slice(2), 'latin1');
  return stored;
}
