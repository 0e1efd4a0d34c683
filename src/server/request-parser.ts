/**
 * Client requests off the wire, as Redis 7 reads them (src/networking.c: processInputBuffer,
 * processInlineBuffer, processMultibulkBuffer; src/sds.c: sdssplitargs): multibulk requests
 * (`*<count>\r\n` then `$<length>\r\n<bytes>\r\n` per argument) and inline commands (a line of
 * words, as typed into `nc` or telnet). The first byte of a request picks the kind: `*` multibulk,
 * anything else inline.
 *
 * Bounded: no memory is taken on the word of a declared count or length; a request holds only the
 * bytes that arrived for it (see `bufferedBytes`), and every line is bounded by `inlineBytesMax`.
 *
 * Where Redis depends on how the bytes were split into reads, the parser does not (any split gives
 * the same events): a line is too big once it has more than `inlineBytesMax` bytes before its end,
 * even when the end came in the same read (Redis checks only while no end is in its buffer).
 *
 * Redis quirks kept on purpose, since a client may meet them in Redis too:
 * - Redis finds line ends with strchr(), which stops at a NUL byte: a NUL before the end of an
 *   inline, `*` or `$` line hides that end, and the request waits until it is too big.
 * - After the `\r` of a `*` or `$` line, and after a bulk's bytes, Redis skips one and two bytes
 *   without looking at them (the `\n`, the `\r\n`).
 * - `*0`, `*-1` (any count <= 0) and empty or blank inline lines are no command: ignored.
 */
import { Buffer } from 'node:buffer';

/** Redis PROTO_INLINE_MAX_SIZE: the longest inline request, `*` line or `$` line. */
export const inlineBytesMaxDefault = 64 * 1024;
/**
 * Redis bounds a multibulk count only by INT_MAX and its 1 GB query buffer limit. Here an argument
 * costs a Buffer object (about 100 bytes of heap) for as little as 6 bytes on the wire (`$0\r\n\r\n`),
 * so the count needs its own bound: 1 Mi arguments is about 100 MB of heap at worst, and far above
 * any real command (MSET or DEL of a million keys is already a batch to split).
 */
export const argumentsMaxDefault = 1024 * 1024;
/** Before AUTH, at most this many arguments (Redis's fix for CVE-2021-32675). */
export const unauthenticatedArgumentsMax = 10;
/** Before AUTH, no argument larger than this (Redis's fix for CVE-2021-32675). */
export const unauthenticatedBulkBytesMax = 16 * 1024;
/** Redis refuses a multibulk count above C's INT_MAX. */
const countMax = 2 ** 31 - 1;

export interface RequestLimits {
  /** Longest inline request or `*`/`$` length line, in bytes (Redis PROTO_INLINE_MAX_SIZE: 64 KB). */
  inlineBytesMax: number;
  /** Largest bulk argument accepted (Redis proto-max-bulk-len; the server passes the store's valueBytesMax). */
  bulkBytesMax: number;
  /** Most arguments in one multibulk request (checked on the count line, before anything is kept for them). */
  argumentsMax: number;
}

/**
 * A complete command (its arguments: fresh copies, never views of a pushed chunk), or a protocol
 * error that ends the stream. `message` is Redis's text WITHOUT the leading `ERR `: the server sends
 * `-ERR <message>\r\n` and closes. It is one character per byte (latin1): only "expected '$', got
 * '<byte>'" can hold a byte above 0x7f, which Redis sends raw, so write it with `Buffer.from(message,
 * 'latin1')` to be byte-exact.
 */
export type ParseEvent = { type: 'command'; args: Buffer[] } | { type: 'error'; message: string };

type Phase = 'start' | 'inline' | 'count' | 'bulkLength' | 'bulk' | 'dead';

const nul = 0x00;
const lf = 0x0a;
const cr = 0x0d;
const star = 0x2a;
const dollar = 0x24;
/** Redis skips this many bytes after a bulk (its `\r\n`) without checking them. */
const bulkTrailerBytes = 2;

/**
 * Incremental parser for one connection. Feed it bytes as they arrive; it returns what they complete.
 *
 * While a request is incomplete the parser keeps views (subarrays) of the chunks pushed for it and
 * copies once it is complete, so a large bulk costs one copy however many chunks it came in. The
 * caller must therefore not overwrite a chunk after pushing it: Node's socket `data` chunks are
 * never reused, but a socket read with `onread: { buffer }` reuses one (copy it before pushing).
 */
export class RequestParser {
  readonly #limits: RequestLimits;
  #unauthenticated = false;
  #phase: Phase = 'start';
  /** The current line's or bulk's bytes so far: views of pushed chunks, joined once complete. */
  #pieces: Buffer[] = [];
  #piecesBytes = 0;
  /** Bytes of the current line so far, counting any dropped once a NUL hid its end. */
  #lineBytes = 0;
  /** A NUL came before the line's end: Redis's strchr() never sees past it, so the line only grows. */
  #lineBlind = false;
  /** The `\r` of a `*`/`$` line came; the byte after it completes the line, whatever it is. */
  #lineEnding = false;
  /** The current multibulk request's complete arguments (copies), and how many are still to come. */
  #args: Buffer[] = [];
  #argsBytes = 0;
  #argsLeft = 0;
  /** The declared length of the bulk being read, and how many of its trailing bytes are yet to skip. */
  #bulkBytes = 0;
  #trailerLeft = 0;
  /** Bytes not parsed yet, held back while unauthenticated (see `push`). */
  #held: Buffer | undefined;

  constructor(limits: RequestLimits) {
    checkLimit('inlineBytesMax', limits.inlineBytesMax, 1, Number.MAX_SAFE_INTEGER);
    checkLimit('bulkBytesMax', limits.bulkBytesMax, 0, Number.MAX_SAFE_INTEGER);
    checkLimit('argumentsMax', limits.argumentsMax, 1, countMax);
    // A copy: the caller changing its object must not move the limits under a request in flight.
    this.#limits = { inlineBytesMax: limits.inlineBytesMax, bulkBytesMax: limits.bulkBytesMax, argumentsMax: limits.argumentsMax };
  }

  /**
   * Feeds bytes; returns every command they complete, in order, and at most one protocol error, last.
   * After an error the stream is dead: this and every later call return no more events.
   */
  push(chunk: Buffer): ParseEvent[] {
    if (this.#held !== undefined) {
      this.#held = Buffer.concat([this.#held, chunk]);
      return [];
    }
    const events: ParseEvent[] = [];
    let pos = 0;
    while (pos < chunk.length && this.#phase !== 'dead') {
      pos = this.#step(chunk, pos, events);
      // Unauthenticated, one command at a time, as Redis runs each before it reads the next: the
      // rest waits (see `resume`) so that it is read under the limits the command (AUTH) may lift.
      if (this.#unauthenticated && events.length > 0 && pos < chunk.length && (this.#phase as Phase) !== 'dead') {
        this.#held = chunk.subarray(pos);
        break;
      }
    }
    return events;
  }

  /** Whether bytes wait for `resume`. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** Parses what `push` held back, under the limits as they are now. */
  resume(): ParseEvent[] {
    const held = this.#held;
    this.#held = undefined;
    return held === undefined ? [] : this.push(held);
  }

  /**
   * Bytes held for the incomplete request; the server bounds a client's memory with it. At most
   * (argumentsMax - 1) * bulkBytesMax (complete arguments) + max(bulkBytesMax, inlineBytesMax) (the
   * bulk or line in progress): far too much with the defaults, so the server needs its own cap, as
   * Redis has client-query-buffer-limit.
   */
  get bufferedBytes(): number {
    return this.#piecesBytes + this.#argsBytes + (this.#held?.byteLength ?? 0);
  }

  /**
   * Before AUTH, Redis allows at most 10 arguments of 16 KB each (CVE-2021-32675). The limits apply
   * to the `*` and `$` lines read after the call, after the connection's own limits.
   */
  setUnauthenticated(on: boolean): void {
    this.#unauthenticated = on;
  }

  /** Moves the parse on from `pos`; returns the position after what it consumed. */
  #step(chunk: Buffer, pos: number, events: ParseEvent[]): number {
    if (this.#phase === 'start') {
      this.#phase = chunk[pos] === star ? 'count' : 'inline';
      return pos;
    }
    return this.#phase === 'bulk' ? this.#readBulk(chunk, pos, events) : this.#readLine(chunk, pos, events);
  }

  /** Reads the current line (inline up to `\n`; `*` and `$` lines up to `\r` and one byte more). */
  #readLine(chunk: Buffer, pos: number, events: ParseEvent[]): number {
    if (this.#lineEnding) {
      this.#lineEnding = false;
      this.#completeLine(events);
      return pos + 1;
    }
    if (this.#lineBlind) return this.#countBlind(chunk, pos, events);
    const found = chunk.indexOf(this.#phase === 'inline' ? lf : cr, pos);
    const end = found < 0 ? chunk.length : found;
    if (chunk.subarray(pos, end).indexOf(nul) >= 0) {
      this.#lineBlind = true;
      this.#dropPieces();
      return this.#countBlind(chunk, pos, events);
    }
    this.#lineBytes += end - pos;
    if (this.#lineBytes > this.#limits.inlineBytesMax) {
      this.#fail(this.#tooBigMessage(), events);
      return chunk.length;
    }
    this.#keep(chunk.subarray(pos, end));
    if (found < 0) return end;
    if (this.#phase === 'inline') this.#completeLine(events);
    else this.#lineEnding = true;
    return found + 1;
  }

  /** A line whose end a NUL hid takes every byte until it is too big, as in Redis. */
  #countBlind(chunk: Buffer, pos: number, events: ParseEvent[]): number {
    this.#lineBytes += chunk.length - pos;
    if (this.#lineBytes > this.#limits.inlineBytesMax) this.#fail(this.#tooBigMessage(), events);
    return chunk.length;
  }

  #tooBigMessage(): string {
    if (this.#phase === 'inline') return 'Protocol error: too big inline request';
    if (this.#phase === 'count') return 'Protocol error: too big mbulk count string';
    return 'Protocol error: too big bulk count string';
  }

  #completeLine(events: ParseEvent[]): void {
    const line = this.#pieces.length === 1 ? this.#pieces[0] : Buffer.concat(this.#pieces, this.#piecesBytes);
    this.#dropPieces();
    this.#lineBytes = 0;
    if (this.#phase === 'inline') this.#onInlineLine(line, events);
    else if (this.#phase === 'count') this.#onCountLine(line, events);
    else this.#onBulkLengthLine(line, events);
  }

  /** processInlineBuffer: one `\r` before the `\n` is dropped, the rest is split like sdssplitargs. */
  #onInlineLine(line: Buffer, events: ParseEvent[]): void {
    const length = line.length > 0 && line[line.length - 1] === cr ? line.length - 1 : line.length;
    const args = splitInlineArgs(line.subarray(0, length));
    if (args === undefined) {
      this.#fail('Protocol error: unbalanced quotes in request', events);
      return;
    }
    this.#phase = 'start';
    if (args.length > 0) events.push({ type: 'command', args });
  }

  /** `*<count>`: the line's first byte is `*` (it is what made this a multibulk request). */
  #onCountLine(line: Buffer, events: ParseEvent[]): void {
    const count = parseRedisInteger(line.subarray(1));
    if (count === undefined || count > countMax || count > this.#limits.argumentsMax) {
      this.#fail('Protocol error: invalid multibulk length', events);
    } else if (this.#unauthenticated && count > unauthenticatedArgumentsMax) {
      this.#fail('Protocol error: unauthenticated multibulk length', events);
    } else if (count <= 0) {
      this.#phase = 'start'; // Redis runs nothing for `*0` or `*-1`
    } else {
      this.#argsLeft = count;
      this.#phase = 'bulkLength';
    }
  }

  /** `$<length>`: Redis looks at the first byte only once the whole line is in. */
  #onBulkLengthLine(line: Buffer, events: ParseEvent[]): void {
    if (line.length === 0 || line[0] !== dollar) {
      // An empty line's first byte is its `\r`; Redis turns `\r` and `\n` in error texts into spaces.
      const byte = line.length === 0 ? cr : line[0];
      const shown = byte === cr || byte === lf ? ' ' : String.fromCharCode(byte);
      this.#fail(`Protocol error: expected '$', got '${shown}'`, events);
      return;
    }
    const length = parseRedisInteger(line.subarray(1));
    if (length === undefined || length < 0 || length > this.#limits.bulkBytesMax) {
      this.#fail('Protocol error: invalid bulk length', events);
    } else if (this.#unauthenticated && length > unauthenticatedBulkBytesMax) {
      this.#fail('Protocol error: unauthenticated bulk length', events);
    } else {
      this.#bulkBytes = length;
      this.#trailerLeft = bulkTrailerBytes;
      this.#phase = 'bulk';
    }
  }

  /** Collects a bulk's bytes as views, then skips its two trailing bytes unchecked, as Redis does. */
  #readBulk(chunk: Buffer, pos: number, events: ParseEvent[]): number {
    const dataLeft = this.#bulkBytes - this.#piecesBytes;
    if (dataLeft > 0) {
      const end = Math.min(chunk.length, pos + dataLeft);
      this.#keep(chunk.subarray(pos, end));
      return end;
    }
    const skip = Math.min(this.#trailerLeft, chunk.length - pos);
    this.#trailerLeft -= skip;
    if (this.#trailerLeft === 0) this.#completeBulk(events);
    return pos + skip;
  }

  #completeBulk(events: ParseEvent[]): void {
    // Buffer.concat copies even a single piece: the argument never aliases a caller's chunk.
    const arg = Buffer.concat(this.#pieces, this.#piecesBytes);
    this.#dropPieces();
    this.#args.push(arg);
    this.#argsBytes += arg.length;
    this.#argsLeft -= 1;
    if (this.#argsLeft > 0) {
      this.#phase = 'bulkLength';
      return;
    }
    events.push({ type: 'command', args: this.#args });
    this.#args = [];
    this.#argsBytes = 0;
    this.#phase = 'start';
  }

  #keep(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.#piecesBytes += piece.length;
  }

  #dropPieces(): void {
    this.#pieces = [];
    this.#piecesBytes = 0;
  }

  /** Ends the stream: reports `message` and lets go of everything held. */
  #fail(message: string, events: ParseEvent[]): void {
    events.push({ type: 'error', message });
    this.#phase = 'dead';
    this.#dropPieces();
    this.#args = [];
    this.#argsBytes = 0;
  }
}

function checkLimit(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Digits of a long long beyond which a double is no longer exact (so the range check goes to BigInt). */
const exactDigitsMax = 15;
/** Redis's LONG_STR_SIZE: string2ll refuses 21 characters or more. */
const integerCharsLimit = 21;
const longLongMax = 2n ** 63n - 1n;

/**
 * string2ll (src/util.c): an optional `-`, then `0` alone or a digit 1-9 and more digits, within a
 * C long long. No `+`, no leading zeros, no `-0`, no spaces. undefined when it is not such a number.
 * Values beyond 2^53 come back inexact but still beyond every limit they are compared with.
 */
function parseRedisInteger(text: Buffer): number | undefined {
  if (text.length === 0 || text.length >= integerCharsLimit) return undefined;
  if (text.length === 1 && text[0] === 0x30) return 0;
  const negative = text[0] === 0x2d;
  const first = negative ? 1 : 0;
  if (first === text.length || text[first] < 0x31 || text[first] > 0x39) return undefined;
  for (let i = first + 1; i < text.length; i++) if (text[i] < 0x30 || text[i] > 0x39) return undefined;
  const digits = text.toString('latin1', first);
  if (digits.length > exactDigitsMax) {
    const magnitude = BigInt(digits);
    if (magnitude > (negative ? longLongMax + 1n : longLongMax)) return undefined;
  }
  const value = Number(digits);
  return negative ? -value : value;
}

const space = 0x20;
const tab = 0x09;
const doubleQuote = 0x22;
const singleQuote = 0x27;
const backslash = 0x5c;

/** The byte at `i`, or NUL past the end: sdssplitargs reads a C string. */
function at(line: Uint8Array, i: number): number {
  return i < line.length ? line[i] : nul;
}

/** C isspace() in the C locale (Redis sets only LC_COLLATE): space, \t \n \v \f \r. */
function isCSpace(byte: number): boolean {
  return byte === space || (byte >= tab && byte <= cr);
}

/**
 * sdssplitargs (src/sds.c): words split on blanks; "..." with \n \r \t \b \a \xHH and \<any>
 * escapes; '...' with \' only; a quote may open mid-word (a"b c" is `ab c`) and its closing quote
 * must be followed by a blank or the end. undefined for unbalanced quotes.
 */
function splitInlineArgs(line: Uint8Array): Buffer[] | undefined {
  const args: Buffer[] = [];
  let p = 0;
  for (;;) {
    while (isCSpace(at(line, p))) p++;
    if (at(line, p) === nul) return args;
    const token = readToken(line, p);
    if (token === undefined) return undefined;
    args.push(Buffer.from(token.bytes));
    p = token.end;
  }
}

/** An unquoted word ends at these only: \v and \f are blanks between words but not inside one. */
function endsWord(byte: number): boolean {
  return byte === space || byte === lf || byte === cr || byte === tab || byte === nul;
}

function readToken(line: Uint8Array, start: number): { bytes: number[]; end: number } | undefined {
  const bytes: number[] = [];
  for (let p = start; ; p++) {
    const byte = at(line, p);
    if (byte === doubleQuote || byte === singleQuote) {
      const end = byte === doubleQuote ? readDoubleQuoted(line, p + 1, bytes) : readSingleQuoted(line, p + 1, bytes);
      return end < 0 ? undefined : { bytes, end };
    }
    if (endsWord(byte)) return { bytes, end: p };
    bytes.push(byte);
  }
}

/** Reads up to the closing `"`; returns the position after it, or -1 if unbalanced. */
function readDoubleQuoted(line: Uint8Array, start: number, bytes: number[]): number {
  let p = start;
  for (;;) {
    const byte = at(line, p);
    if (byte === backslash && at(line, p + 1) === 0x78 && isHexDigit(at(line, p + 2)) && isHexDigit(at(line, p + 3))) {
      bytes.push(hexValue(at(line, p + 2)) * 16 + hexValue(at(line, p + 3)));
      p += 4;
    } else if (byte === backslash && at(line, p + 1) !== nul) {
      bytes.push(unescaped(at(line, p + 1)));
      p += 2;
    } else if (byte === doubleQuote) {
      return closeQuote(line, p);
    } else if (byte === nul) {
      return -1;
    } else {
      bytes.push(byte);
      p++;
    }
  }
}

/** Reads up to the closing `'`; only `\'` is an escape. Returns the position after it, or -1. */
function readSingleQuoted(line: Uint8Array, start: number, bytes: number[]): number {
  let p = start;
  for (;;) {
    const byte = at(line, p);
    if (byte === backslash && at(line, p + 1) === singleQuote) {
      bytes.push(singleQuote);
      p += 2;
    } else if (byte === singleQuote) {
      return closeQuote(line, p);
    } else if (byte === nul) {
      return -1;
    } else {
      bytes.push(byte);
      p++;
    }
  }
}

/** A closing quote must be followed by a blank or the end ("foo"bar is unbalanced). */
function closeQuote(line: Uint8Array, p: number): number {
  const next = at(line, p + 1);
  return next !== nul && !isCSpace(next) ? -1 : p + 1;
}

function unescaped(byte: number): number {
  switch (byte) {
    case 0x6e: // n
      return lf;
    case 0x72: // r
      return cr;
    case 0x74: // t
      return tab;
    case 0x62: // b
      return 0x08;
    case 0x61: // a
      return 0x07;
    default:
      return byte;
  }
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46);
}

function hexValue(byte: number): number {
  if (byte <= 0x39) return byte - 0x30;
  return (byte | 0x20) - 0x61 + 10;
}
