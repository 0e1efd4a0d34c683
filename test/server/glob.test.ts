import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  compileGlob,
  type GlobWork,
  globMatch,
  globMatchCounted,
  globMatchText,
  globPatternBytesMax,
  globStarGroupsMax,
  literalPrefix,
} from '../../src/server/glob.js';

/** Each character one byte (latin1), so '\xff' is the byte 0xff. */
const b = (text: string): Uint8Array => Buffer.from(text, 'latin1');

// ---------------------------------------------------------------------------------------------
// REFERENCE: a line-by-line port of stringmatchlen / stringmatchlen_impl from Redis 7's src/util.c
// (redis/redis 4f8cdc2), recursion, skipLongerMatches and the nesting limit included. Only the
// byte type differs: unsigned here, as in glob.ts (see its module comment).

const star = 0x2a;
const question = 0x3f;
const open = 0x5b;
const close = 0x5d;
const caret = 0x5e;
const dash = 0x2d;
const backslash = 0x5c;

/** Reads past the end see the NUL that ends every sds string, as the C code's do. */
const byteAt = (bytes: Uint8Array, i: number): number => (i < bytes.length ? bytes[i] : 0);
/** tolower() in the C locale, which Redis keeps for LC_CTYPE. */
const tolower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 32 : c);

function referenceMatch(pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean {
  return referenceImpl(pattern, 0, subject, 0, nocase, { skipLongerMatches: false }, 0);
}

function referenceImpl(
  pat: Uint8Array,
  patStart: number,
  str: Uint8Array,
  strStart: number,
  nocase: boolean,
  state: { skipLongerMatches: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  let p = patStart;
  let s = strStart;
  let patternLen = pat.length - p;
  let stringLen = str.length - s;
  while (patternLen !== 0 && stringLen !== 0) {
    const c = byteAt(pat, p);
    if (c === star) {
      while (patternLen !== 0 && byteAt(pat, p + 1) === star) {
        p++;
        patternLen--;
      }
      if (patternLen === 1) return true;
      while (stringLen !== 0) {
        if (referenceImpl(pat, p + 1, str, s, nocase, state, nesting + 1)) return true;
        if (state.skipLongerMatches) return false;
        s++;
        stringLen--;
      }
      state.skipLongerMatches = true;
      return false;
    }
    if (c === open) {
      const set = referenceSet(pat, p + 1, byteAt(str, s), nocase);
      if (!set.match) return false;
      p = set.p;
      patternLen = pat.length - p;
    } else if (c !== question) {
      if (c === backslash && patternLen >= 2) {
        p++;
        patternLen--;
      }
      const same = nocase ? tolower(byteAt(pat, p)) === tolower(byteAt(str, s)) : byteAt(pat, p) === byteAt(str, s);
      if (!same) return false;
    }
    s++;
    stringLen--;
    p++;
    patternLen--;
    if (stringLen === 0) {
      while (byteAt(pat, p) === star) {
        p++;
        patternLen--;
      }
      break;
    }
  }
  return patternLen === 0 && stringLen === 0;
}

/** The `case '['` block: `p` is left on the set's last byte, which the caller's `pattern++` passes. */
function referenceSet(pat: Uint8Array, start: number, c: number, nocase: boolean): { p: number; match: boolean } {
  let p = start;
  let patternLen = pat.length - p;
  const not = byteAt(pat, p) === caret;
  if (not) {
    p++;
    patternLen--;
  }
  let match = false;
  while (true) {
    if (byteAt(pat, p) === backslash && patternLen >= 2) {
      p++;
      patternLen--;
      if (byteAt(pat, p) === c) match = true;
    } else if (byteAt(pat, p) === close) {
      break;
    } else if (patternLen === 0) {
      p--;
      patternLen++;
      break;
    } else if (patternLen >= 3 && byteAt(pat, p + 1) === dash) {
      match = referenceRange(byteAt(pat, p), byteAt(pat, p + 2), c, nocase) || match;
      p += 2;
      patternLen -= 2;
    } else if (nocase ? tolower(byteAt(pat, p)) === tolower(c) : byteAt(pat, p) === c) {
      match = true;
    }
    p++;
    patternLen--;
  }
  return { p, match: not ? !match : match };
}

function referenceRange(first: number, last: number, c: number, nocase: boolean): boolean {
  let start = Math.min(first, last);
  let end = Math.max(first, last);
  let subject = c;
  if (nocase) {
    start = tolower(start);
    end = tolower(end);
    subject = tolower(subject);
  }
  return subject >= start && subject <= end;
}

// ---------------------------------------------------------------------------------------------

/** xorshift32: a fixed seed makes every run test the same cases, and a failure reproducible. */
function xorshift32(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function randomBytes(next: () => number, alphabet: Uint8Array, lengthMax: number): Uint8Array {
  const out = new Uint8Array(next() % (lengthMax + 1));
  for (let i = 0; i < out.length; i++) out[i] = alphabet[next() % alphabet.length];
  return out;
}

/**
 * A subject shaped after `pattern`, so that many cases match: literals copied, each `?` one random
 * byte, each `*` zero to two, escapes resolved. Sets are copied as they are, mostly a mismatch.
 */
function subjectLike(next: () => number, pattern: Uint8Array, alphabet: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let p = 0; p < pattern.length; p++) {
    const c = pattern[p];
    if (c === question) out.push(alphabet[next() % alphabet.length]);
    else if (c === star) for (let n = next() % 3; n > 0; n--) out.push(alphabet[next() % alphabet.length]);
    else out.push(c === backslash && p + 1 < pattern.length ? pattern[++p] : c);
  }
  return Uint8Array.from(out);
}

const show = (bytes: Uint8Array): string => JSON.stringify(Buffer.from(bytes).toString('latin1'));

type Case = [pattern: string, subject: string, expected: boolean, why: string];

/** Asserts each case on glob.ts and on the reference port, so the table also checks our reading of the C. */
function expectCases(cases: Case[], nocase: boolean): void {
  for (const [pattern, subject, expected, why] of cases) {
    const label = `${show(b(pattern))} vs ${show(b(subject))}: ${why}`;
    expect(globMatch(b(pattern), b(subject), { nocase }), label).toBe(expected);
    expect(referenceMatch(b(pattern), b(subject), nocase), `reference, ${label}`).toBe(expected);
  }
}

describe('globMatch: the cases stringmatchlen decides', () => {
  it('stars, question marks and the empty subject', () => {
    expectCases(
      [
        ['', '', true, 'the empty pattern matches the empty subject'],
        ['', 'a', false, 'and nothing else'],
        ['*', '', false, 'the C loop never runs on an empty subject, so patternLen stays 1'],
        ['**', '', false, 'the same with two stars'],
        ['a*', 'a', true, 'once the subject is used up, trailing stars are skipped'],
        ['a**', 'a', true, 'however many'],
        ['*', 'anything', true, 'a last star swallows the rest'],
        ['?', '', false, '? needs a byte'],
        ['?', 'a', true, 'and takes exactly one'],
        ['??', 'a', false, 'one byte per ?'],
        ['a?c', 'abc', true, 'literals around ?'],
        ['a*c', 'ac', true, 'a star may match no bytes'],
        ['a*c', 'abbbc', true, 'or many'],
        ['a*c', 'abbbcd', false, 'the pattern must reach the end of the subject'],
        ['*ab', 'abab', true, 'the last segment fits only at the end, after a retry'],
        ['a*b*c', 'aXbYc', true, 'two stars'],
        ['a*b*c', 'acb', false, 'segments keep their order'],
        ['*a*', 'a', true, 'stars on both sides of one byte'],
      ],
      false,
    );
  });

  it('sets, ranges and their corners', () => {
    expectCases(
      [
        ['[abc]', 'b', true, 'a member'],
        ['[abc]', 'd', false, 'not a member'],
        ['[^abc]', 'b', false, '^ negates'],
        ['[^abc]', 'd', true, '^ negates'],
        ['[a-c]', 'b', true, 'a range'],
        ['[c-a]', 'b', true, 'a reversed range is the same range (the C swaps its ends)'],
        ['[c-a]', 'd', false, 'and no wider'],
        ['[a-cx-z]', 'y', true, 'two ranges'],
        ['x[^a-c]y', 'xdy', true, 'a negated range between literals'],
        ['[]', ']', false, '"]" right after "[" closes the set: an empty set matches nothing'],
        ['[]]', ']]', false, 'so "[]]" is an empty set then "]"'],
        ['[^]', 'x', true, 'a negated empty set matches any byte'],
        ['[^]', '', false, 'but still needs one'],
        ['[abc', 'a', true, 'an unterminated set runs to the end of the pattern'],
        ['[abc', 'ab', false, 'and is one byte'],
        ['x[abc', 'xc', true, 'after literals too'],
        ['[', 'a', false, 'a lone "[" is an empty set'],
        ['[', '[', false, 'not the byte "["'],
        ['[^', 'x', true, 'a lone "[^" is a negated empty set'],
        ['a[', 'a', false, 'an empty set still needs a byte'],
        ['[\\]]', ']', true, 'an escaped "]" is a member'],
        ['[\\]', ']', true, 'an escaped "]" and then the end: unterminated'],
        ['[\\', '\\', true, 'a "\\" that is the last byte is itself'],
        ['[\\-a]', '-', true, 'an escaped "-" is a member, not a range'],
        ['[a\\-z]', 'b', false, 'so a\\-z is three members'],
        ['[a\\-z]', '-', true, 'one of them "-"'],
        ['[a-]', '_', true, '"a-]" is the range "]".."a" (a "-" and one more byte make a range)'],
        ['[a-]', 'a', true, 'its high end'],
        ['[a-]', '-', false, '"-" is not in it'],
        ['[a-]x', 'x', true, 'and the set went on past that "]", unterminated'],
        ['[a-\\]', '\\', true, "a range's end is never an escape: a..'\\' is '\\'..'a'"],
        ['[a-\\]', 'b', false, 'and ends at "a"'],
        ['[a-', '-', true, 'a "-" with no byte after it is a member'],
      ],
      false,
    );
  });

  it('escapes outside sets', () => {
    expectCases(
      [
        ['\\*', '*', true, 'an escaped star is the byte'],
        ['\\*', 'a', false, 'and not a wildcard'],
        ['\\?', '?', true, 'an escaped ? is the byte'],
        ['\\?', 'x', false, 'and not a wildcard'],
        ['\\[a]', '[a]', true, 'an escaped "[" opens no set'],
        ['\\a', 'a', true, 'escaping an ordinary byte changes nothing'],
        ['\\\\', '\\', true, 'an escaped backslash'],
        ['\\', '\\', true, 'a lone "\\" at the end is itself'],
        ['a\\', 'a\\', true, 'also after other bytes'],
      ],
      false,
    );
  });

  it('nocase folds ASCII letters, with the C code quirks', () => {
    expectCases(
      [
        ['FOO', 'foo', true, 'literals fold'],
        ['foo', 'FOO', true, 'both ways'],
        ['F?O', 'fxo', true, 'around ?'],
        ['[A-C]', 'b', true, 'ranges fold'],
        ['[a-c]', 'B', true, 'both ways'],
        ['[A-z]', '_', false, "a range's ends fold after ordering: A-z is a..z, which lacks '_'"],
        ['[Z-a]', 'a', false, 'Z-a folds to z..a, empty: the C does not re-order after folding'],
        ['[\\A]', 'a', false, 'an escape inside a set compares exactly even with nocase'],
        ['[\\A]', 'A', true, 'exactly'],
        ['\\A', 'a', true, 'an escape outside sets folds'],
        ['[^a]', 'A', false, 'negation after folding'],
        ['\xc9', '\xe9', false, 'only ASCII folds (the C locale)'],
      ],
      true,
    );
    // The same two quirky ranges without nocase, for contrast.
    expectCases(
      [
        ['[A-z]', '_', true, "'_' lies between 'Z' and 'a'"],
        ['[Z-a]', 'a', true, 'Z..a holds a'],
        ['FOO', 'foo', false, 'no folding'],
      ],
      false,
    );
  });

  it('bytes, not text: NUL is a byte and bytes compare unsigned', () => {
    expectCases(
      [
        ['a\x00b', 'a\x00b', true, 'NUL in pattern and subject'],
        ['a\x00b', 'a', false, 'NUL ends nothing'],
        ['?', '\x00', true, '? takes NUL'],
        ['\xff*', '\xff\x00', true, 'high bytes'],
        // x86-64 Redis (signed char) reads this range as 0..-1, swaps it, and then holds only 0x00 and
        // 0xff; where char is unsigned, as here, it holds every byte.
        ['[\x00-\xff]', '\x80', true, 'a range over the high half, unsigned'],
        ['[a-\xff]', '\x80', true, 'unsigned: 0x80 lies between "a" and 0xff'],
        ['[a-\xff]', '\x00', false, 'and 0x00 does not'],
      ],
      false,
    );
  });

  it('offers the same on text, as UTF-8', () => {
    expect(globMatchText('caf?', 'café')).toBe(false); // é is two bytes
    expect(globMatchText('caf??', 'café')).toBe(true);
    expect(globMatchText('CAF*', 'café', { nocase: true })).toBe(true);
  });
});

describe("KEYS and SCAN MATCH cases from Redis's test suite", () => {
  const keysMatching = (pattern: string, keys: string[]): string[] => {
    const matches = compileGlob(b(pattern));
    return keys.filter((key) => matches(b(key))).sort();
  };

  it('tests/unit/keyspace.tcl: KEYS with pattern, all keys, hashtags', () => {
    const keys = ['key_x', 'key_y', 'key_z', 'foo_a', 'foo_b', 'foo_c'];
    expect(keysMatching('foo*', keys)).toEqual(['foo_a', 'foo_b', 'foo_c']);
    expect(keysMatching('*', keys)).toEqual([...keys].sort());
    const tagged = ['{a}x', '{a}y', '{a}z', '{b}a', '{b}b', '{b}c'];
    expect(keysMatching('{a}*', tagged)).toEqual(['{a}x', '{a}y', '{a}z']);
    expect(keysMatching('*{b}*', tagged)).toEqual(['{b}a', '{b}b', '{b}c']);
  });

  it('tests/unit/keyspace.tcl: regression for pattern matching long nested loops (CVE-2022-36021)', () => {
    expect(keysMatching(`${'a*'.repeat(20)}b`, ['a'.repeat(40)])).toEqual([]);
  });

  it('tests/unit/keyspace.tcl: regression for very long nested loops (CVE-2024-31228)', () => {
    // By glob rules "*?" x 50000 matches 50000 bytes; Redis answers no, past its nesting limit.
    const pattern = b('*?'.repeat(50_000));
    const key = b('a'.repeat(50_000));
    expect(compileGlob(pattern)(key)).toBe(false);
    expect(referenceMatch(pattern, key)).toBe(false);
  });

  it('tests/unit/scan.tcl: SCAN MATCH, SSCAN and HSCAN with a pattern', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
    expect(keysMatching('key:1??', keys)).toHaveLength(100);
    expect(keysMatching('*a*', ['1', 'a'])).toEqual(['a']);
    expect(keysMatching('*1*', ['1', 'a'])).toEqual(['1']);
    const members = ['foo', 'fab', 'fiz', 'foobar', '1', '2', '3', '4'];
    expect(keysMatching('foo*', members)).toEqual(['foo', 'foobar']);
  });

  it('the exact pattern "*" is every key, the empty one too (allkeys in keysCommand, use_pattern in SCAN)', () => {
    expect(compileGlob(b('*'))(b(''))).toBe(true);
    expect(compileGlob(b('**'))(b(''))).toBe(false); // this one goes through stringmatchlen
    expect(globMatch(b('*'), b(''))).toBe(false);
  });
});

describe('limits', () => {
  const as = (count: number): Uint8Array => b('a'.repeat(count));

  it(`matches through ${globStarGroupsMax} nested stars and no further, as Redis`, () => {
    const cases: Array<[pattern: Uint8Array, subject: Uint8Array, expected: boolean]> = [
      [b('*a'.repeat(globStarGroupsMax)), as(globStarGroupsMax), true],
      [b('*a'.repeat(globStarGroupsMax + 1)), as(globStarGroupsMax + 1), false],
      // A last star returns before nesting deeper.
      [b(`${'*a'.repeat(globStarGroupsMax)}*`), b(`${'a'.repeat(globStarGroupsMax)}b`), true],
      // Consecutive stars are one group.
      [b('**a'.repeat(globStarGroupsMax)), as(globStarGroupsMax), true],
      // Escaped stars and stars in sets are bytes, not groups.
      [b('\\*[*]'.repeat(globStarGroupsMax + 1)), b('**'.repeat(globStarGroupsMax + 1)), true],
    ];
    for (const [pattern, subject, expected] of cases) {
      expect(globMatch(pattern, subject)).toBe(expected);
      expect(referenceMatch(pattern, subject)).toBe(expected);
    }
  });

  it(`a pattern over globPatternBytesMax (${globPatternBytesMax}) matches nothing: our bound, not Redis's`, () => {
    expect(globMatch(as(globPatternBytesMax), as(globPatternBytesMax))).toBe(true);
    expect(globMatch(as(globPatternBytesMax + 1), as(globPatternBytesMax + 1))).toBe(false);
    expect(compileGlob(as(globPatternBytesMax + 1))(as(globPatternBytesMax + 1))).toBe(false);
  });
});

describe('bounded work', () => {
  const stepsPerCellMax = 2;
  const subjectBytes = 10_000;

  /** Steps of one match, and that they stay within stepsPerCellMax × pattern bytes × (subject bytes + 1). */
  function stepsOf(pattern: Uint8Array, subject: Uint8Array, expected: boolean): number {
    const work: GlobWork = { steps: -1 };
    expect(globMatchCounted(pattern, subject, work)).toBe(expected);
    expect(work.steps).toBeGreaterThanOrEqual(0);
    expect(work.steps).toBeLessThanOrEqual(stepsPerCellMax * Math.max(pattern.length, 1) * (subject.length + 1));
    return work.steps;
  }

  it('the CVE-2022-36021 shape, 100 stars against 10 KB, takes steps linear in the input', () => {
    // Naive backtracking tries every way to split the a's among 100 stars: astronomically many.
    const subject = b(`${'a'.repeat(subjectBytes - 1)}b`);
    const matching = b(`${'*a'.repeat(100)}*b`);
    const failing = b(`${'*a'.repeat(100)}*c`);
    const linearFactor = 4;
    expect(stepsOf(matching, subject, true)).toBeLessThanOrEqual(linearFactor * (matching.length + subject.length));
    expect(stepsOf(failing, subject, false)).toBeLessThanOrEqual(linearFactor * (failing.length + subject.length));
    // Redis's own regression pattern, a*a*…*b, against a's alone.
    expect(stepsOf(b(`${'a*'.repeat(100)}b`), b('a'.repeat(subjectBytes)), false)).toBeLessThanOrEqual(linearFactor * (201 + subjectBytes));
  });

  it("the algorithm's real worst case, a long segment after a star retried at every byte, stays within the bound", () => {
    // Each of the ~10,000 retries matches 99 a's before failing on "b": about pattern × subject steps.
    const pattern = b(`*${'a'.repeat(99)}b`);
    const steps = stepsOf(pattern, b('a'.repeat(subjectBytes)), false);
    expect(steps).toBeGreaterThan(pattern.length * subjectBytes * 0.9); // it is the worst case
  });
});

describe('literalPrefix', () => {
  const prefix = (pattern: Uint8Array, nocase = false): string | undefined => {
    const bytes = literalPrefix(pattern, { nocase });
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1');
  };

  it('is the pattern up to its first *, ? or [', () => {
    expect(prefix(b('user:*'))).toBe('user:');
    expect(prefix(b('a?b'))).toBe('a');
    expect(prefix(b('ab[c]'))).toBe('ab');
    expect(prefix(b('user:1'))).toBe('user:1'); // all literal: the one key it matches
  });

  it('is undefined when the pattern starts with a special byte, or is empty', () => {
    expect(prefix(b(''))).toBeUndefined();
    expect(prefix(b('*'))).toBeUndefined();
    expect(prefix(b('?a'))).toBeUndefined();
    expect(prefix(b('[ab]c'))).toBeUndefined();
  });

  it('resolves escapes', () => {
    expect(prefix(b('user\\*:*'))).toBe('user*:');
    expect(prefix(b('\\?x*'))).toBe('?x');
    expect(prefix(b('\\[x'))).toBe('[x');
    expect(prefix(b('\\\\*'))).toBe('\\');
    expect(prefix(b('a\\'))).toBe('a\\'); // a lone trailing backslash is itself
  });

  it('stops before the first letter with nocase, which may match either case', () => {
    expect(prefix(b('ab*'), true)).toBeUndefined();
    expect(prefix(b('12ab'), true)).toBe('12');
    expect(prefix(b('1\\A*'), true)).toBe('1');
  });

  it('keeps bytes as they are', () => {
    expect(literalPrefix(Uint8Array.of(0x00, 0xff, star))).toEqual(Uint8Array.of(0x00, 0xff));
  });
});

describe('differential: glob.ts against the port of stringmatchlen, on random short inputs', () => {
  const casesPerRun = 30_000;
  const patternBytesMax = 10;
  const subjectBytesMax = 8;

  /** Runs random cases; returns the first disagreements and how many cases matched. */
  function compare(seed: number, patternAlphabet: Uint8Array, subjectAlphabet: Uint8Array, nocase: boolean) {
    const next = xorshift32(seed);
    const mismatches: string[] = [];
    let matched = 0;
    for (let i = 0; i < casesPerRun && mismatches.length < 5; i++) {
      const pattern = randomBytes(next, patternAlphabet, patternBytesMax);
      // Half the subjects random, half shaped after the pattern.
      const subject = i % 2 === 0 ? randomBytes(next, subjectAlphabet, subjectBytesMax) : subjectLike(next, pattern, subjectAlphabet);
      const expected = referenceMatch(pattern, subject, nocase);
      if (expected) matched++;
      const problem = disagreement(pattern, subject, nocase, expected);
      if (problem !== undefined) mismatches.push(`${show(pattern)} vs ${show(subject)} nocase=${nocase}: ${problem}`);
    }
    return { mismatches, matched };
  }

  /** What, if anything, of globMatch, compileGlob and literalPrefix departs from the reference's answer. */
  function disagreement(pattern: Uint8Array, subject: Uint8Array, nocase: boolean, expected: boolean): string | undefined {
    const work: GlobWork = { steps: -1 };
    if (globMatchCounted(pattern, subject, work, { nocase }) !== expected) return `globMatch is not ${expected}`;
    if (work.steps > 2 * Math.max(pattern.length, 1) * (subject.length + 1)) return `${work.steps} steps`;
    const everyKey = pattern.length === 1 && pattern[0] === star;
    if (compileGlob(pattern, { nocase })(subject) !== (expected || everyKey)) return 'compileGlob differs';
    const start = literalPrefix(pattern, { nocase }) ?? new Uint8Array(0);
    if (expected && !Buffer.from(subject).subarray(0, start.length).equals(start)) return 'literalPrefix is not a prefix';
    return undefined;
  }

  const specials = '*?[]^-\\';

  it('over a small alphabet of letters and every special byte', () => {
    for (const nocase of [false, true]) {
      const { mismatches, matched } = compare(0x5eed + Number(nocase), b(`ab${specials}`), b('abA-]^\\'), nocase);
      expect(mismatches).toEqual([]);
      // Not vacuous: a fair share of cases match, and a fair share do not.
      expect(matched).toBeGreaterThan(casesPerRun * 0.2);
      expect(matched).toBeLessThan(casesPerRun * 0.8);
    }
  });

  it('with upper case letters, where nocase matters', () => {
    for (const nocase of [false, true]) {
      const { mismatches, matched } = compare(0xc0ffee + Number(nocase), b(`aAzZ_${specials}`), b('aAzZ_]'), nocase);
      expect(mismatches).toEqual([]);
      expect(matched).toBeGreaterThan(casesPerRun * 0.2);
    }
  });

  it('over binary bytes, NUL and the high half included', () => {
    const patternAlphabet = Uint8Array.of(0x00, 0x41, 0x61, 0x7f, 0x80, 0xfe, 0xff, ...b(specials));
    const subjectAlphabet = Uint8Array.of(0x00, 0x2d, 0x41, 0x5d, 0x61, 0x7f, 0x80, 0xff);
    const { mismatches, matched } = compare(0xb17e5, patternAlphabet, subjectAlphabet, false);
    expect(mismatches).toEqual([]);
    expect(matched).toBeGreaterThan(casesPerRun * 0.2);
  });
});
