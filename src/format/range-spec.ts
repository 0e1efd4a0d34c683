/**
 * A key range as a `deleteRange` op carries it in a WAL record (in the op's key field):
 *
 *   flags      u8      1 reverse | 2 has lower | 4 lower inclusive | 8 has upper | 16 upper inclusive
 *   limit      f64 LE  a non-negative integer, or Infinity
 *   lowerBytes u32 LE, lower (UTF-8)     (0 and nothing when there is no lower bound)
 *   upperBytes u32 LE, upper (UTF-8)     (likewise)
 *   prefix     the rest (UTF-8; empty: no prefix)
 *
 * The range, not the keys it matched, goes into the log: replay applies it to the same state in
 * the same seq order, so it deletes the same keys, and a record stays small however many it deletes.
 */
import type { KeyRange, RangeOptions } from '../types.js';

const flagReverse = 1;
const flagLower = 2;
const flagLowerInclusive = 4;
const flagUpper = 8;
const flagUpperInclusive = 16;
const flagsKnown = 31;
const fixedBytes = 1 + 8 + 4 + 4;

export function encodeRangeSpec(range: KeyRange): Buffer {
  const lower = Buffer.from(range.lower ?? '', 'utf8');
  const upper = Buffer.from(range.upper ?? '', 'utf8');
  const prefix = Buffer.from(range.prefix, 'utf8');
  const spec = Buffer.alloc(fixedBytes + lower.byteLength + upper.byteLength + prefix.byteLength);
  let flags = range.reverse ? flagReverse : 0;
  // The inclusive flags go in even without their bound, so a range decodes to exactly what was encoded.
  if (range.lower !== undefined) flags |= flagLower;
  if (range.lowerInclusive) flags |= flagLowerInclusive;
  if (range.upper !== undefined) flags |= flagUpper;
  if (range.upperInclusive) flags |= flagUpperInclusive;
  spec[0] = flags;
  spec.writeDoubleLE(range.limit, 1);
  let at = 9;
  spec.writeUInt32LE(lower.byteLength, at);
  at += 4 + lower.copy(spec, at + 4);
  spec.writeUInt32LE(upper.byteLength, at);
  at += 4 + upper.copy(spec, at + 4);
  prefix.copy(spec, at);
  return spec;
}

/** Decodes `bytes[start, end)`, or undefined when it is not a range spec (a reader's check). */
export function decodeRangeSpec(bytes: Buffer, start: number, end: number): KeyRange | undefined {
  if (end - start < fixedBytes) return undefined;
  const flags = bytes[start];
  if ((flags & ~flagsKnown) !== 0) return undefined;
  const limit = bytes.readDoubleLE(start + 1);
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 0))) return undefined;
  let at = start + 9;
  const lowerEnd = at + 4 + bytes.readUInt32LE(at);
  if (lowerEnd + 4 > end) return undefined;
  const lower = bytes.toString('utf8', at + 4, lowerEnd);
  at = lowerEnd;
  const upperEnd = at + 4 + bytes.readUInt32LE(at);
  if (upperEnd > end) return undefined;
  const upper = bytes.toString('utf8', at + 4, upperEnd);
  return {
    lower: flags & flagLower ? lower : undefined,
    lowerInclusive: (flags & flagLowerInclusive) !== 0,
    upper: flags & flagUpper ? upper : undefined,
    upperInclusive: (flags & flagUpperInclusive) !== 0,
    prefix: bytes.toString('utf8', upperEnd, end),
    reverse: (flags & flagReverse) !== 0,
    limit,
  };
}

/** A checked range as the options that select it: for the change feed, dumps and tools. */
export function rangeOptionsOf(range: KeyRange): RangeOptions {
  const options: RangeOptions = {};
  if (range.lower !== undefined) options[range.lowerInclusive ? 'gte' : 'gt'] = range.lower;
  if (range.upper !== undefined) options[range.upperInclusive ? 'lte' : 'lt'] = range.upper;
  if (range.prefix !== '') options.prefix = range.prefix;
  if (range.reverse) options.reverse = true;
  if (range.limit !== Number.POSITIVE_INFINITY) options.limit = range.limit;
  return options;
}
