/**
 * Redis's glob patterns (KEYS, SCAN … MATCH, and any other command that takes one) over bytes, in
 * bounded work.
 *
 * The language is that of `stringmatchlen` in Redis 7's src/util.c (read at redis/redis 4f8cdc2,
 * October 2024, after the CVE-2024-31228 fix 472d8a0):
 *
 *   *       any run of bytes; consecutive stars are one
 *   ?       any one byte
 *   [abc]   one byte of the set; [^abc] one byte not in it; [a-z] a range, and [z-a] the same range
 *   \x      x itself, outside brackets and inside them; a lone \ at the very end is itself
 *
 * with Redis's corners, each kept on purpose (the tests name them):
 *   - An unterminated `[` takes the rest of the pattern as its set: "[abc" matches "a"; "[" matches
 *     nothing; "[^" matches any one byte.
 *   - "]" right after "[" or "[^" closes the set: "[]" matches nothing, "[^]" any one byte.
 *   - "x-y" is a range whenever a '-' follows a member and one more byte exists, whatever it is:
 *     "[a-]" is the range "]".."a", and the set is then unterminated. A range's ends are never escapes.
 *   - nocase folds ASCII A-Z only. Inside brackets an escaped byte compares exactly even with nocase;
 *     a range is ordered first and its ends folded after ("[A-z]" with nocase is a..z, without "_").
 *   - An empty subject matches only the empty pattern: stringmatchlen("*", "") is 0. KEYS and SCAN
 *     never ask that, as both treat the exact pattern "*" as "every key" (`allkeys` in keysCommand,
 *     `use_pattern` in scanGenericCommand); compileGlob does the same, globMatch does not.
 *   - CVE-2024-31228: stringmatchlen_impl gives up ("if (nesting > 1000) return 0") when one more
 *     star would nest past 1000. Every match passes every star, so a pattern whose 1001st star group
 *     has more pattern after it matches nothing (Redis's regression test: KEYS of "*?" x 50000 finds
 *     no key of 50000 "a"s). This module has no nesting, but keeps that answer: globStarGroupsMax.
 *
 * One deliberate difference: bytes compare unsigned (0..255). Redis compares a range's ends and the
 * subject byte as C `char`, which is signed on x86-64, so there "[a-\xff]" is the range -1..'a' and
 * holds 0x00..0x61 and 0xff but not 0x80; where `char` is unsigned (Linux on arm64) it holds 'a'..0xff,
 * as here. Outside ranges signedness changes nothing (equality only).
 *
 * The matcher (CVE-2022-36021): no RegExp is built from a pattern and nothing recurses. A pattern is
 * compiled once into atoms (star, any byte, one byte, a byte set as a 256-bit table), each atom other
 * than a star consuming exactly one byte. Matching then walks pattern and subject together, and on a
 * mismatch backtracks to just after the LAST star only, letting that star swallow one more byte. That
 * is enough: the stars cut the pattern into fixed-width segments. If some match places a segment that
 * has a star after it, placing it at its leftmost fit instead (the first fit found scanning right)
 * also leads to a match, since that next star can absorb the bytes in between. So once a segment has
 * fit and the next star is reached, no earlier star needs another try; the segment after the last star
 * must end where the subject ends, which retrying that star finds. Each backtrack moves the retry point
 * one byte right, at most subject-length times, with at most atom-count steps between two backtracks:
 * work is O(pattern × subject) whatever the pattern (the tests hold it under 2 × bytes × (bytes + 1)). Redis's own bound is the same order, reached by recursion
 * plus its `skipLongerMatches` flag; its answers equal these (the tests compare with a port of it).
 */
import { Buffer } from 'node:buffer';

export interface GlobOptions {
  /** Fold ASCII letters (A-Z to a-z) before comparing, as Redis's `nocase` argument. Default false. */
  readonly nocase?: boolean;
}

export type GlobMatcher = (subject: Uint8Array) => boolean;

/**
 * Patterns longer than this many bytes match nothing. Redis has no such limit (only the star nesting
 * one below); ours bounds what one pattern costs: its compiled form (at most one 32-byte table per two
 * pattern bytes, so 1 MiB) and the work per key, under 2 × globPatternBytesMax × (key bytes + 1)
 * steps. 64 KiB is the default largest key, so any such key without special bytes is its own pattern.
 */
export const globPatternBytesMax = 64 * 1024;

/** A pattern whose star group number globStarGroupsMax + 1 has more pattern after it matches nothing (Redis's nesting limit). */
export const globStarGroupsMax = 1000;

const starByte = 0x2a; // *
const questionByte = 0x3f; // ?
const openByte = 0x5b; // [
const closeByte = 0x5d; // ]
const caretByte = 0x5e; // ^
const dashByte = 0x2d; // -
const backslashByte = 0x5c; // \

const starAtom = 0;
const anyAtom = 1;
const byteAtom = 2;
const setAtom = 3;

/** One bit per byte value. */
const setTableBytes = 32;
const byteValues = 256;

const identityFold = Uint8Array.from({ length: byteValues }, (_, b) => b);
const lowerCaseFold = Uint8Array.from({ length: byteValues }, (_, b) => (isUpperAscii(b) ? b + 32 : b));

function isUpperAscii(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}

function isLowerAscii(b: number): boolean {
  return b >= 0x61 && b <= 0x7a;
}

/** A pattern compiled into atoms; `args` holds a byte atom's folded byte, or a set atom's table offset in `sets`. */
interface CompiledGlob {
  readonly kinds: Uint8Array;
  readonly args: Int32Array;
  readonly atomCount: number;
  readonly sets: Uint8Array;
  readonly fold: Uint8Array;
  /** The empty pattern, the only one an empty subject matches. */
  readonly empty: boolean;
  /** Over globPatternBytesMax, or past globStarGroupsMax. */
  readonly matchesNothing: boolean;
}

/** Work counter for tests: `steps` is set to the loop iterations of the last match it was passed to. */
export interface GlobWork {
  steps: number;
}

/** Whether `subject` matches `pattern`, as Redis's stringmatchlen (an empty subject matches only ""). */
export function globMatch(pattern: Uint8Array, subject: Uint8Array, options?: GlobOptions): boolean {
  return matchCompiled(compile(pattern, options?.nocase === true), subject, undefined);
}

/** globMatch on text, both sides as UTF-8. Keys the server stores tagged (byte-text.ts) must be matched on their wire bytes instead. */
export function globMatchText(pattern: string, subject: string, options?: GlobOptions): boolean {
  return globMatch(Buffer.from(pattern, 'utf8'), Buffer.from(subject, 'utf8'), options);
}

/** globMatch that also reports its work into `work`; for tests of the bound. */
export function globMatchCounted(pattern: Uint8Array, subject: Uint8Array, work: GlobWork, options?: GlobOptions): boolean {
  return matchCompiled(compile(pattern, options?.nocase === true), subject, work);
}

/**
 * A matcher compiled once per KEYS or SCAN call. As those commands do, the exact pattern "*" matches
 * every key, the empty key too; otherwise the answers are globMatch's.
 */
export function compileGlob(pattern: Uint8Array, options?: GlobOptions): GlobMatcher {
  if (pattern.length === 1 && pattern[0] === starByte) return () => true;
  const compiled = compile(pattern, options?.nocase === true);
  if (compiled.matchesNothing) return () => false;
  return (subject) => matchCompiled(compiled, subject, undefined);
}

/**
 * The bytes every subject matching `pattern` starts with: the pattern up to its first `*`, `?` or `[`,
 * escapes resolved ("user\*:*" gives "user*:"). With nocase it also stops before the first letter.
 * Undefined when that is empty. SCAN over ordered keys may seek to it, then filter with the matcher.
 */
export function literalPrefix(pattern: Uint8Array, options?: GlobOptions): Uint8Array | undefined {
  const prefix = new Uint8Array(pattern.length);
  let length = 0;
  let p = 0;
  while (p < pattern.length) {
    const b = pattern[p];
    if (b === starByte || b === questionByte || b === openByte) break;
    const escaped = b === backslashByte && p + 1 < pattern.length;
    const literal = escaped ? pattern[p + 1] : b;
    if (options?.nocase === true && (isUpperAscii(literal) || isLowerAscii(literal))) break;
    prefix[length++] = literal;
    p += escaped ? 2 : 1;
  }
  return length === 0 ? undefined : prefix.slice(0, length);
}

function matchCompiled(compiled: CompiledGlob, subject: Uint8Array, work: GlobWork | undefined): boolean {
  if (work !== undefined) work.steps = 0;
  if (compiled.matchesNothing) return false;
  if (subject.length === 0) return compiled.empty;
  return matchAtoms(compiled, subject, work);
}

/** The iterative match; see the module comment for why backtracking to the last star is enough. */
function matchAtoms(compiled: CompiledGlob, subject: Uint8Array, work: GlobWork | undefined): boolean {
  const { kinds, args, atomCount, sets, fold } = compiled;
  let atom = 0;
  let at = 0;
  let lastStar = -1; // atom index of the last star passed
  let retryAt = 0; // where that star's run ends on the next retry
  let steps = 0;
  while (at < subject.length) {
    steps++;
    if (atom < atomCount && kinds[atom] === starAtom) {
      // A star with nothing after it swallows the rest (Redis: "patternLen == 1 ... return 1").
      if (atom === atomCount - 1) return finish(work, steps, true);
      lastStar = atom++;
      retryAt = at; // first try: the star matches no bytes
    } else if (atom < atomCount && atomAccepts(kinds[atom], args[atom], subject[at], sets, fold)) {
      atom++;
      at++;
    } else if (lastStar >= 0) {
      at = ++retryAt; // the last star takes one more byte; the segment after it starts over
      atom = lastStar + 1;
    } else {
      return finish(work, steps, false);
    }
  }
  // Subject used up: only stars may remain (Redis skips trailing '*' once stringLen reaches 0).
  while (atom < atomCount && kinds[atom] === starAtom) {
    steps++;
    atom++;
  }
  return finish(work, steps, atom === atomCount);
}

function finish(work: GlobWork | undefined, steps: number, matched: boolean): boolean {
  if (work !== undefined) work.steps = steps;
  return matched;
}

function atomAccepts(kind: number, arg: number, byte: number, sets: Uint8Array, fold: Uint8Array): boolean {
  if (kind === anyAtom) return true;
  if (kind === byteAtom) return arg === fold[byte];
  return (sets[arg + (byte >>> 3)] & (1 << (byte & 7))) !== 0;
}

const nothing: CompiledGlob = {
  kinds: new Uint8Array(0),
  args: new Int32Array(0),
  atomCount: 0,
  sets: new Uint8Array(0),
  fold: identityFold,
  empty: false,
  matchesNothing: true,
};

/** Parses as stringmatchlen does, but once, into atoms. */
function compile(pattern: Uint8Array, nocase: boolean): CompiledGlob {
  if (pattern.length > globPatternBytesMax) return nothing;
  const fold = nocase ? lowerCaseFold : identityFold;
  const kinds = new Uint8Array(pattern.length);
  const args = new Int32Array(pattern.length);
  const sets = new Uint8Array(setTableBytes * countByte(pattern, openByte));
  let atomCount = 0;
  let setCount = 0;
  let p = 0;
  while (p < pattern.length) {
    const b = pattern[p];
    if (b === starByte) {
      if (atomCount === 0 || kinds[atomCount - 1] !== starAtom) kinds[atomCount++] = starAtom;
      p++;
    } else if (b === questionByte) {
      kinds[atomCount++] = anyAtom;
      p++;
    } else if (b === openByte) {
      const offset = setTableBytes * setCount++;
      kinds[atomCount] = setAtom;
      args[atomCount++] = offset;
      p = parseSet(pattern, p + 1, fold, sets.subarray(offset, offset + setTableBytes));
    } else {
      // Outside brackets an escaped byte folds like any other (Redis falls through to `default`).
      const escaped = b === backslashByte && p + 1 < pattern.length;
      kinds[atomCount] = byteAtom;
      args[atomCount++] = fold[escaped ? pattern[p + 1] : b];
      p += escaped ? 2 : 1;
    }
  }
  const matchesNothing = nonFinalStars(kinds, atomCount) > globStarGroupsMax;
  return { kinds, args, atomCount, sets, fold, empty: pattern.length === 0, matchesNothing };
}

function countByte(bytes: Uint8Array, value: number): number {
  let count = 0;
  for (const b of bytes) if (b === value) count++;
  return count;
}

/** Star groups followed by more pattern: each is one level of Redis's nesting. */
function nonFinalStars(kinds: Uint8Array, atomCount: number): number {
  let count = 0;
  for (let atom = 0; atom < atomCount - 1; atom++) if (kinds[atom] === starAtom) count++;
  return count;
}

/** Reused by parseSet: which byte values the set being parsed holds. */
const members = new Uint8Array(byteValues);

/**
 * Parses a set starting just after its `[`, writes its table into `table`, and returns the position
 * after it: after its `]`, or the pattern's end when unterminated. The branch order is Redis's.
 */
function parseSet(pattern: Uint8Array, start: number, fold: Uint8Array, table: Uint8Array): number {
  const end = pattern.length;
  let p = start;
  const negated = p < end && pattern[p] === caretByte;
  if (negated) p++;
  members.fill(0);
  while (p < end) {
    const b = pattern[p];
    if (b === backslashByte && end - p >= 2) {
      members[pattern[++p]] = 1; // exact, even with nocase (Redis compares without tolower here)
    } else if (b === closeByte) {
      return packSet(negated, table, p + 1);
    } else if (end - p >= 3 && pattern[p + 1] === dashByte) {
      addRange(b, pattern[p + 2], fold);
      p += 2;
    } else {
      addFolded(fold[b], fold);
    }
    p++;
  }
  return packSet(negated, table, end);
}

/** Every byte that folds to `folded`: itself, and its upper case when folding. */
function addFolded(folded: number, fold: Uint8Array): void {
  members[folded] = 1;
  if (fold === lowerCaseFold && isLowerAscii(folded)) members[folded - 32] = 1;
}

/** Redis orders the ends, then folds them, then tests the folded subject byte between them. */
function addRange(first: number, last: number, fold: Uint8Array): void {
  const low = fold[Math.min(first, last)];
  const high = fold[Math.max(first, last)];
  for (let folded = low; folded <= high; folded++) {
    // No byte folds to an upper-case letter; a lower-case one is also reached from its upper case.
    if (fold === identityFold || !isUpperAscii(folded)) addFolded(folded, fold);
  }
}

function packSet(negated: boolean, table: Uint8Array, after: number): number {
  for (let b = 0; b < byteValues; b++) {
    if ((members[b] === 1) !== negated) table[b >>> 3] |= 1 << (b & 7);
  }
  return after;
}
