/**
 * Replies on the wire, RESP2 and RESP3 (a connection switches with `HELLO 3`). A reply is the list
 * of pieces to write: header strings (ASCII) and payloads (Buffers, or strings written as UTF-8).
 * Each builder here returns one; the connection writes them in request order.
 *
 * Where RESP3 has a type RESP2 lacks, RESP2 gets what Redis sends it: a map is a flat array of
 * key, value, …; a null is `$-1` (a missing bulk) or `*-1` (a missing array); a double is a bulk
 * string; a boolean an integer; a push (pub/sub message) an array.
 */
import { Buffer } from 'node:buffer';

export type Protocol = 2 | 3;

export type Piece = string | Buffer;
export type Reply = Piece[];

const crlf = '\r\n';

export const okReply: Reply = [`+OK${crlf}`];
export const queuedReply: Reply = [`+QUEUED${crlf}`];
export const pongReply: Reply = [`+PONG${crlf}`];

export function simpleReply(text: string): Reply {
  return [`+${oneLine(text)}${crlf}`];
}

/** `message` begins with its code word (`ERR`, `WRONGPASS`, `NOAUTH`, …), as Redis errors do. */
export function errorReply(message: string): Reply {
  return [`-${oneLine(message)}${crlf}`];
}

export function integerReply(value: number | bigint): Reply {
  return [`:${value}${crlf}`];
}

/** A bulk string: bytes as they are, text as its UTF-8. */
export function bulkReply(value: Buffer | string): Reply {
  const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.byteLength;
  return [`$${bytes}${crlf}`, value, crlf];
}

export function nullReply(protocol: Protocol): Reply {
  return [protocol === 3 ? `_${crlf}` : `$-1${crlf}`];
}

export function nullArrayReply(protocol: Protocol): Reply {
  return [protocol === 3 ? `_${crlf}` : `*-1${crlf}`];
}

export function arrayReply(items: readonly Reply[]): Reply {
  return [`*${items.length}${crlf}`, ...items.flat()];
}

/** A set (RESP3 `~`); RESP2 gets an array. */
export function setReply(items: readonly Reply[], protocol: Protocol): Reply {
  return [`${protocol === 3 ? '~' : '*'}${items.length}${crlf}`, ...items.flat()];
}

/** A map (RESP3 `%`); RESP2 gets a flat array of key, value, … as Redis sends it. */
export function mapReply(pairs: ReadonlyArray<readonly [Reply, Reply]>, protocol: Protocol): Reply {
  const header = protocol === 3 ? `%${pairs.length}${crlf}` : `*${pairs.length * 2}${crlf}`;
  return [header, ...pairs.flatMap(([key, value]) => [...key, ...value])];
}

/** A double (RESP3 `,`); RESP2 gets it as a bulk string, as Redis sends INCRBYFLOAT's result. */
export function doubleReply(text: string, protocol: Protocol): Reply {
  return protocol === 3 ? [`,${text}${crlf}`] : bulkReply(text);
}

/** An out-of-band push (RESP3 `>`: pub/sub messages, keyspace events); RESP2 gets an array. */
export function pushReply(items: readonly Reply[], protocol: Protocol): Reply {
  return [`${protocol === 3 ? '>' : '*'}${items.length}${crlf}`, ...items.flat()];
}

/** Simple strings and errors cannot hold a line break: Redis replaces them with spaces too. */
function oneLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text;
}

/** The bytes a reply takes on the wire (for the output buffer limit). */
export function replyBytes(reply: Reply): number {
  let total = 0;
  for (const piece of reply) total += typeof piece === 'string' ? Buffer.byteLength(piece, 'utf8') : piece.byteLength;
  return total;
}
