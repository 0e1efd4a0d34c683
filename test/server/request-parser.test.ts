/**
 * The request parser reads what Redis 7 reads (src/networking.c processInlineBuffer and
 * processMultibulkBuffer, src/sds.c sdssplitargs), with Redis's error texts, whatever way the bytes
 * are split into chunks, and without taking memory on the word of a declared count or length.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it, vi } from 'vitest';
import {
  argumentsMaxDefault,
  inlineBytesMaxDefault,
  type ParseEvent,
  RequestParser,
  type RequestLimits,
  unauthenticatedArgumentsMax,
  unauthenticatedBulkBytesMax,
} from '../../src/server/request-parser.js';

const defaults: RequestLimits = {
  inlineBytesMax: inlineBytesMaxDefault,
  bulkBytesMax: 16 * 1024 * 1024,
  argumentsMax: argumentsMaxDefault,
};
/** Small limits, so every bound is reached with a few bytes. */
const small: RequestLimits = { inlineBytesMax: 16, bulkBytesMax: 8, argumentsMax: 4 };
/** Small bulks and counts, but lines long enough for any 64-bit number. */
const wide: RequestLimits = { inlineBytesMax: 64, bulkBytesMax: 8, argumentsMax: 4 };
const countMax = 2 ** 31 - 1;

/** One byte per character, so tests can spell any byte. */
function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

type Shown = string[] | { error: string };

/** Events in a comparable form: a command as its arguments (latin1), an error as its text. */
function show(events: ParseEvent[]): Shown[] {
  return events.map((event) => (event.type === 'command' ? event.args.map((arg) => arg.toString('latin1')) : { error: event.message }));
}

function parse(input: string | Buffer, limits = defaults, unauthenticated = false): Shown[] {
  const parser = new RequestParser(limits);
  parser.setUnauthenticated(unauthenticated);
  return show(parser.push(typeof input === 'string' ? bytes(input) : input));
}

/** A multibulk request for `args` (latin1 strings, so length is byte length). */
function multibulk(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join('')}`;
}

/** Feeds `input` cut at `cuts` (ascending offsets) to one parser; all events in order. */
function pushInPieces(input: Buffer, cuts: number[], limits = defaults): Shown[] {
  const parser = new RequestParser(limits);
  const events: ParseEvent[] = [];
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    events.push(...parser.push(input.subarray(start, cut)));
    start = cut;
  }
  return show(events);
}

/** xorshift32: a tiny seeded generator of 32-bit unsigned integers. */
function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    let x = state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    state = x >>> 0;
    return state;
  };
}

/** A random integer in [0, n). */
function below(next: () => number, n: number): number {
  return next() % n;
}

function randomCuts(next: () => number, length: number, count: number): number[] {
  const cuts = Array.from({ length: count }, () => below(next, length + 1));
  return cuts.sort((a, b) => a - b);
}

describe('multibulk requests', () => {
  it('parses a command into its arguments', () => {
    expect(parse(multibulk('SET', 'key', 'value'))).toEqual([['SET', 'key', 'value']]);
  });

  it('keeps arguments binary-safe: CR, LF, NUL, spaces and high bytes pass as they are', () => {
    const value = 'a\r\nb\0c d\xff\r';
    expect(parse(multibulk('SET', '\0k', value))).toEqual([['SET', '\0k', value]]);
  });

  it('parses an empty argument', () => {
    expect(parse(multibulk('SET', 'k', ''))).toEqual([['SET', 'k', '']]);
  });

  it('returns pipelined commands in order', () => {
    expect(parse(multibulk('GET', 'a') + multibulk('GET', 'b') + multibulk('PING'))).toEqual([['GET', 'a'], ['GET', 'b'], ['PING']]);
  });

  it('runs nothing for a count of 0 or below (Redis ignores them) and reads on', () => {
    expect(parse(`*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\n${multibulk('PING')}`)).toEqual([['PING']]);
  });

  it("skips the byte after a length line's \\r and the two after a bulk without checking them, as Redis does", () => {
    expect(parse('*1\rx$4\r!PINGab*1\r\n$1\r\nZ\r\n')).toEqual([['PING'], ['Z']]);
  });

  it('waits for the rest of an incomplete request and counts the bytes it holds', () => {
    const parser = new RequestParser(defaults);
    expect(parser.push(bytes('*2\r\n$3\r\nGET\r\n$3\r\nke'))).toEqual([]);
    expect(parser.bufferedBytes).toBe(5); // GET and "ke"
    expect(show(parser.push(bytes('y\r\n')))).toEqual([['GET', 'key']]);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('returns arguments that do not share memory with the pushed chunks', () => {
    const whole = bytes(multibulk('SET', 'key', 'value'));
    const first = Buffer.from(whole.subarray(0, 20));
    const second = Buffer.from(whole.subarray(20));
    const parser = new RequestParser(defaults);
    const events = [...parser.push(first), ...parser.push(second)];
    first.fill(0x21);
    second.fill(0x21);
    expect(show(events)).toEqual([['SET', 'key', 'value']]);
  });
});

describe('inline commands', () => {
  it('splits words on blanks, with CRLF or LF line ends', () => {
    expect(parse('SET  k\tv\r\nGET k\n')).toEqual([
      ['SET', 'k', 'v'],
      ['GET', 'k'],
    ]);
  });

  it('ignores empty and blank lines', () => {
    expect(parse('\r\n\n  \t \r\nPING\r\n')).toEqual([['PING']]);
  });

  it('reads a double-quoted word with its spaces and escapes', () => {
    expect(parse('SET k "a b\\n\\r\\t\\b\\a\\\\\\"\\x41\\xfF\\q"\n')).toEqual([['SET', 'k', 'a b\n\r\t\b\x07\\"A\xffq']]);
  });

  it('takes \\x as a plain x unless two hex digits follow', () => {
    expect(parse('"\\xZ1" "\\x4" "\\X41"\n')).toEqual([['xZ1', 'x4', 'X41']]);
  });

  it("reads a single-quoted word where only \\' is an escape", () => {
    expect(parse("'it\\'s' 'a\\nb' 'x\\\"y'\n")).toEqual([["it's", 'a\\nb', 'x\\"y']]);
  });

  it('joins a quote opened mid-word to the text before it', () => {
    expect(parse(`a"b c" x'y z'\n`)).toEqual([['ab c', 'xy z']]);
  });

  it('takes any C blank after a closing quote, \\v included', () => {
    expect(parse('"a"\vb\n')).toEqual([['a', 'b']]);
  });

  it('ends an unquoted word only at space, tab, CR or LF: \\v and \\f stay inside it', () => {
    expect(parse('a\vb \fc\r\n')).toEqual([['a\vb', 'c']]);
  });

  it('keeps bytes above 0x7f', () => {
    expect(parse('SET k \xe9t\xe9\n')).toEqual([['SET', 'k', '\xe9t\xe9']]);
  });

  it.each([
    ['an unterminated double quote', 'GET "foo\r\n'],
    ['an unterminated single quote', "GET 'foo\n"],
    ['a closing double quote followed by a letter', 'GET "foo"bar\n'],
    ['a closing single quote followed by a letter', "GET 'a'b\n"],
    ['an escaped closing double quote', 'GET "foo\\"\n'],
    ["an escaped closing single quote after a backslash ('\\\\')", "GET '\\\\'\n"],
  ])('rejects %s as unbalanced quotes', (_name, input) => {
    expect(parse(input)).toEqual([{ error: 'Protocol error: unbalanced quotes in request' }]);
  });

  it('mixes with multibulk requests in one stream', () => {
    expect(parse(`PING\r\n${multibulk('ECHO', 'x')}GET k\n`)).toEqual([['PING'], ['ECHO', 'x'], ['GET', 'k']]);
  });
});

describe('limits and error texts', () => {
  it('refuses an inline request over inlineBytesMax: "too big inline request"', () => {
    expect(parse('a'.repeat(17), small)).toEqual([{ error: 'Protocol error: too big inline request' }]);
  });

  it('accepts an inline request of exactly inlineBytesMax bytes, and refuses one more even with its end in the same chunk', () => {
    expect(parse(`${'a'.repeat(16)}\n`, small)).toEqual([['a'.repeat(16)]]);
    expect(parse(`${'a'.repeat(17)}\n`, small)).toEqual([{ error: 'Protocol error: too big inline request' }]);
  });

  it('refuses a * line over inlineBytesMax: "too big mbulk count string"', () => {
    expect(parse(`*${'1'.repeat(16)}`, small)).toEqual([{ error: 'Protocol error: too big mbulk count string' }]);
    expect(parse(`*${'1'.repeat(15)}`, small)).toEqual([]);
  });

  it.each([
    ['letters', '*abc\r\n'],
    ['nothing', '*\r\n'],
    ['a leading zero', '*01\r\n'],
    ['minus zero', '*-0\r\n'],
    ['a plus sign', '*+1\r\n'],
    ['a space', '*1 \r\n'],
    ['more than argumentsMax', '*5\r\n'],
    ['below the smallest long long', '*-9223372036854775809\r\n'],
    ['21 characters', '*-100000000000000000000\r\n'],
  ])('refuses a count of %s: "invalid multibulk length"', (_name, input) => {
    expect(parse(input, wide)).toEqual([{ error: 'Protocol error: invalid multibulk length' }]);
  });

  it('refuses a count above INT_MAX even when argumentsMax allows it, and waits at INT_MAX', () => {
    const limits = { ...defaults, argumentsMax: countMax };
    expect(parse('*2147483648\r\n', limits)).toEqual([{ error: 'Protocol error: invalid multibulk length' }]);
    expect(parse('*2147483647\r\n', limits)).toEqual([]);
  });

  it.each([
    ['a letter', '*1\r\nx\r\n', "Protocol error: expected '$', got 'x'"],
    ['an inline command', '*1\r\nPING\r\n', "Protocol error: expected '$', got 'P'"],
    ['a control byte (sent raw)', '*1\r\n\x01\r\n', "Protocol error: expected '$', got '\x01'"],
    ['a high byte (sent raw)', '*1\r\n\xff\r\n', "Protocol error: expected '$', got '\xff'"],
    ['an empty line (its \\r shows as a space)', '*1\r\n\r\n', "Protocol error: expected '$', got ' '"],
    ['a line starting with \\n (shown as a space)', '*1\r\n\nx\r\n', "Protocol error: expected '$', got ' '"],
  ])('refuses %s where a $ line belongs: "expected \'$\', got"', (_name, input, message) => {
    expect(parse(input)).toEqual([{ error: message }]);
  });

  it("looks at a $ line's first byte only once the whole line is in, as Redis does", () => {
    expect(parse('*1\r\nx', small)).toEqual([]);
    expect(parse(`*1\r\nx${'y'.repeat(16)}`, small)).toEqual([{ error: 'Protocol error: too big bulk count string' }]);
  });

  it('refuses a $ line over inlineBytesMax: "too big bulk count string"', () => {
    expect(parse(`*1\r\n$${'1'.repeat(16)}`, small)).toEqual([{ error: 'Protocol error: too big bulk count string' }]);
    expect(parse(`*1\r\n$${'1'.repeat(15)}`, small)).toEqual([]);
  });

  it.each([
    ['minus one', '$-1'],
    ['letters', '$abc'],
    ['nothing', '$'],
    ['a leading zero', '$01'],
    ['a plus sign', '$+1'],
    ['more than bulkBytesMax', '$9'],
  ])('refuses a bulk length of %s: "invalid bulk length"', (_name, line) => {
    expect(parse(`*1\r\n${line}\r\n`, small)).toEqual([{ error: 'Protocol error: invalid bulk length' }]);
  });

  it('accepts a bulk of exactly bulkBytesMax bytes', () => {
    expect(parse(multibulk('12345678'), small)).toEqual([['12345678']]);
  });

  it.each([
    ['an inline line', 'PING\0\r\n', 'Protocol error: too big inline request'],
    ['a * line', '*1\0\r\n', 'Protocol error: too big mbulk count string'],
    ['a $ line', '*1\r\n$1\0\r\n', 'Protocol error: too big bulk count string'],
  ])('lets a NUL hide the end of %s, as strchr() does in Redis: it waits, then is too big', (_name, start, message) => {
    const parser = new RequestParser(small);
    expect(parser.push(bytes(start))).toEqual([]);
    expect(show(parser.push(bytes(`${multibulk('PING')}abc\r\n`)))).toEqual([{ error: message }]);
  });

  it('returns the commands before an error, then the error, then nothing more', () => {
    const parser = new RequestParser(defaults);
    expect(show(parser.push(bytes(`PING\r\n${multibulk('GET', 'k')}*1\r\n$x\r\n${multibulk('PING')}`)))).toEqual([
      ['PING'],
      ['GET', 'k'],
      { error: 'Protocol error: invalid bulk length' },
    ]);
    expect(parser.bufferedBytes).toBe(0);
    expect(parser.push(bytes(multibulk('PING')))).toEqual([]);
    expect(parser.push(bytes('PING\r\n'))).toEqual([]);
  });

  it('lets go of a half-read request on an error', () => {
    const parser = new RequestParser(wide);
    expect(parser.push(bytes('*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab'))).toEqual([]);
    expect(parser.bufferedBytes).toBe(6); // SET, k and "ab"
    expect(show(parser.push(bytes('cde\r\nh\r\n')))).toEqual([{ error: "Protocol error: expected '$', got 'h'" }]);
    expect(parser.bufferedBytes).toBe(0);
  });

  it.each([
    ['inlineBytesMax', { ...small, inlineBytesMax: 0 }],
    ['bulkBytesMax', { ...small, bulkBytesMax: -1 }],
    ['argumentsMax', { ...small, argumentsMax: countMax + 1 }],
    ['argumentsMax', { ...small, argumentsMax: 1.5 }],
  ])('refuses a bad %s', (name, limits) => {
    expect(() => new RequestParser(limits)).toThrow(new RegExp(name));
  });
});

describe('unauthenticated limits (CVE-2021-32675)', () => {
  it(`refuses more than ${unauthenticatedArgumentsMax} arguments: "unauthenticated multibulk length"`, () => {
    expect(parse('*11\r\n', defaults, true)).toEqual([{ error: 'Protocol error: unauthenticated multibulk length' }]);
    expect(parse('*10\r\n', defaults, true)).toEqual([]);
  });

  it(`refuses a bulk over ${unauthenticatedBulkBytesMax} bytes: "unauthenticated bulk length"`, () => {
    expect(parse('*1\r\n$16385\r\n', defaults, true)).toEqual([{ error: 'Protocol error: unauthenticated bulk length' }]);
    const value = 'v'.repeat(unauthenticatedBulkBytesMax);
    expect(parse(multibulk('AUTH', value), defaults, true)).toEqual([['AUTH', value]]);
  });

  it("checks the connection's own limits first, as Redis does", () => {
    expect(parse('*5\r\n', small, true)).toEqual([{ error: 'Protocol error: invalid multibulk length' }]);
    expect(parse('*1\r\n$9\r\n', small, true)).toEqual([{ error: 'Protocol error: invalid bulk length' }]);
    expect(parse('*2147483648\r\n', { ...defaults, argumentsMax: countMax }, true)).toEqual([
      { error: 'Protocol error: invalid multibulk length' },
    ]);
  });

  it('leaves inline commands to inlineBytesMax alone', () => {
    const words = Array.from({ length: 12 }, (_, i) => `w${i}`);
    expect(parse(`${words.join(' ')}\r\n`, defaults, true)).toEqual([words]);
  });

  it('lifts the limits once authenticated', () => {
    const parser = new RequestParser(defaults);
    parser.setUnauthenticated(true);
    parser.setUnauthenticated(false);
    const args = Array.from({ length: 11 }, () => 'x'.repeat(unauthenticatedBulkBytesMax + 1));
    expect(show(parser.push(bytes(multibulk(...args))))).toEqual([args]);
  });

  it('before AUTH, holds what follows a command until resumed, so AUTH can lift the limits for it', () => {
    const parser = new RequestParser(defaults);
    parser.setUnauthenticated(true);
    const big = 'x'.repeat(unauthenticatedBulkBytesMax + 1);
    expect(show(parser.push(bytes(`${multibulk('AUTH', 'pw')}${multibulk('SET', 'k', big)}`)))).toEqual([['AUTH', 'pw']]);
    expect(parser.holding).toBe(true);
    parser.setUnauthenticated(false); // AUTH succeeded
    expect(show(parser.resume())).toEqual([['SET', 'k', big]]);
    expect(parser.holding).toBe(false);
    // Still unauthenticated (AUTH failed): the held request meets the limits.
    const refused = new RequestParser(defaults);
    refused.setUnauthenticated(true);
    refused.push(bytes(`${multibulk('AUTH', 'bad')}${multibulk('SET', 'k', big)}`));
    expect(refused.resume()).toEqual([{ type: 'error', message: 'Protocol error: unauthenticated bulk length' }]);
  });
});

describe('incremental parsing: any split gives the same events', () => {
  const pipeline = bytes(
    [
      multibulk('SET', 'k', 'v'),
      'PING\r\n',
      '*0\r\n',
      '\r\n',
      multibulk('SET', 'bin', 'a\r\n$3\r\n\0\xff'),
      ' "quoted \\x41rg" x\n',
      multibulk('GET', ''),
      "ECHO 'it\\'s'\r\n",
      '*-1\r\n',
      multibulk('DEL', 'a', 'b', 'c'),
    ].join(''),
  );
  const expected: Shown[] = [
    ['SET', 'k', 'v'],
    ['PING'],
    ['SET', 'bin', 'a\r\n$3\r\n\0\xff'],
    ['quoted Arg', 'x'],
    ['GET', ''],
    ['ECHO', "it's"],
    ['DEL', 'a', 'b', 'c'],
  ];
  const failing = Buffer.concat([pipeline, bytes('GET "unbalanced\r\nPING\r\n')]);

  it('parses the pipeline in one push', () => {
    expect(pushInPieces(pipeline, [])).toEqual(expected);
    expect(pushInPieces(failing, [])).toEqual([...expected, { error: 'Protocol error: unbalanced quotes in request' }]);
  });

  it('gives the same events for every split point', () => {
    for (const input of [pipeline, failing]) {
      const whole = pushInPieces(input, []);
      for (let cut = 0; cut <= input.length; cut++) expect(pushInPieces(input, [cut])).toEqual(whole);
    }
  });

  it('gives the same events one byte at a time', () => {
    for (const input of [pipeline, failing]) {
      const cuts = Array.from({ length: input.length }, (_, i) => i);
      expect(pushInPieces(input, cuts)).toEqual(pushInPieces(input, []));
    }
  });

  it('gives the same events for seeded random splits into many pieces', () => {
    const next = xorshift32(0x5eed);
    for (let trial = 0; trial < 300; trial++) {
      const input = trial % 2 === 0 ? pipeline : failing;
      const cuts = randomCuts(next, input.length, 1 + below(next, 40));
      expect(pushInPieces(input, cuts)).toEqual(pushInPieces(input, []));
    }
  });

  it('joins a large bulk once, not on every chunk', () => {
    const valueBytes = 4 * 1024 * 1024;
    const chunkBytes = 4096;
    const input = Buffer.concat([bytes(`*2\r\n$3\r\nSET\r\n$${valueBytes}\r\n`), Buffer.alloc(valueBytes, 0x61), bytes('\r\n')]);
    const parser = new RequestParser(defaults);
    const concat = vi.spyOn(Buffer, 'concat');
    const events: ParseEvent[] = [];
    try {
      for (let start = 0; start < input.length; start += chunkBytes) {
        events.push(...parser.push(input.subarray(start, start + chunkBytes)));
        if (events.length === 0) expect(parser.bufferedBytes).toBeLessThanOrEqual(3 + valueBytes);
      }
      const copiedBytes = concat.mock.results.reduce((sum, result) => sum + (result.value as Buffer).length, 0);
      expect(copiedBytes).toBeLessThan(2 * valueBytes);
    } finally {
      concat.mockRestore();
    }
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event.type === 'command' && event.args[1].equals(Buffer.alloc(valueBytes, 0x61))).toBe(true);
  });
});

describe('fuzz: random and broken input', () => {
  const limits: RequestLimits = { inlineBytesMax: 32, bulkBytesMax: 24, argumentsMax: 5 };
  /**
   * What the parser may hold: the complete arguments of an unfinished multibulk request (at most
   * argumentsMax - 1, each at most bulkBytesMax) and the part in progress: a bulk (at most
   * bulkBytesMax) or a line (at most inlineBytesMax bytes before its end, which is not kept).
   */
  const bufferedBytesBound = (limits.argumentsMax - 1) * limits.bulkBytesMax + Math.max(limits.bulkBytesMax, limits.inlineBytesMax);

  function randomBytes(next: () => number, length: number): string {
    return String.fromCharCode(...Array.from({ length }, () => below(next, 256)));
  }

  function randomWord(next: () => number): string {
    const letters = 'abcdefghijklmnopqrstuvwxyz0123456789:_-';
    return Array.from({ length: 1 + below(next, 6) }, () => letters[below(next, letters.length)]).join('');
  }

  /** A well-formed request within `limits`, and the arguments it carries. */
  function validFrame(next: () => number): { text: string; args: string[] } {
    if (below(next, 3) === 0) {
      const args = Array.from({ length: 1 + below(next, 3) }, () => randomWord(next));
      return { text: `${args.join(' ')}${below(next, 2) === 0 ? '\r\n' : '\n'}`, args };
    }
    const args = Array.from({ length: 1 + below(next, limits.argumentsMax) }, () =>
      randomBytes(next, below(next, limits.bulkBytesMax + 1)),
    );
    return { text: multibulk(...args), args };
  }

  /** Something likely broken: raw bytes, a valid frame with bytes changed, or odd length lines. */
  function brokenFrame(next: () => number): string {
    const kind = below(next, 4);
    if (kind === 0) return randomBytes(next, 1 + below(next, 60));
    if (kind === 1) {
      const text = validFrame(next).text.split('');
      for (let flips = 1 + below(next, 3); flips > 0; flips--) text[below(next, text.length)] = String.fromCharCode(below(next, 256));
      return text.join('');
    }
    if (kind === 2) return `*${below(next, 12) - 3}\r\n`;
    return `$${below(next, 40) - 3}\r\n${randomBytes(next, below(next, 30))}`;
  }

  it('never throws, holds at most the derived bound, and returns the valid requests that came before any garbage', () => {
    const next = xorshift32(20240607);
    for (let trial = 0; trial < 1500; trial++) {
      const valid = Array.from({ length: below(next, 4) }, () => validFrame(next));
      const rest = Array.from({ length: 1 + below(next, 4) }, () => (below(next, 2) === 0 ? brokenFrame(next) : validFrame(next).text));
      const input = bytes([...valid.map((frame) => frame.text), ...rest].join(''));
      const parser = new RequestParser(limits);
      const events: ParseEvent[] = [];
      let start = 0;
      for (const cut of [...randomCuts(next, input.length, below(next, 12)), input.length]) {
        events.push(...parser.push(input.subarray(start, cut)));
        expect(parser.bufferedBytes).toBeLessThanOrEqual(bufferedBytesBound);
        start = cut;
      }
      const shown = show(events);
      expect(shown.slice(0, valid.length)).toEqual(valid.map((frame) => frame.args));
      expect(shown).toEqual(pushInPieces(input, [], limits));
      const errorAt = events.findIndex((event) => event.type === 'error');
      if (errorAt >= 0) {
        expect(errorAt).toBe(events.length - 1);
        expect(parser.bufferedBytes).toBe(0);
        expect(parser.push(bytes(multibulk('PING')))).toEqual([]);
      }
    }
  });

  it('never throws on pure garbage, before or after AUTH', () => {
    const next = xorshift32(7);
    for (let trial = 0; trial < 1000; trial++) {
      const parser = new RequestParser(limits);
      parser.setUnauthenticated(trial % 2 === 0);
      const input = bytes(randomBytes(next, 1 + below(next, 200)));
      let errors = 0;
      for (let start = 0; start < input.length; ) {
        const end = start + 1 + below(next, 16);
        // As the server does: before AUTH the parser holds what follows each command until resumed.
        let events = parser.push(input.subarray(start, end));
        while (parser.holding) events = events.concat(parser.resume());
        errors += events.filter((event) => event.type === 'error').length;
        expect(parser.bufferedBytes).toBeLessThanOrEqual(bufferedBytesBound);
        start = end;
      }
      expect(errors).toBeLessThanOrEqual(1);
    }
  });
});

describe('memory: declared counts and lengths take nothing until their bytes arrive', () => {
  const arrayBytesJumpMax = 4 * 1024 * 1024;

  function arrayBufferBytes(): number {
    return process.memoryUsage().arrayBuffers;
  }

  it('refuses *2147483647 under the default argumentsMax', () => {
    expect(parse('*2147483647\r\n')).toEqual([{ error: 'Protocol error: invalid multibulk length' }]);
  });

  it('waits on *2147483647 and a 256 MB bulk length without allocating for them', () => {
    const bulkBytesMax = 256 * 1024 * 1024;
    const parser = new RequestParser({ ...defaults, argumentsMax: countMax, bulkBytesMax });
    const before = arrayBufferBytes();
    expect(parser.push(bytes(`*2147483647\r\n$${bulkBytesMax}\r\n`))).toEqual([]);
    expect(parser.push(bytes('x'.repeat(1000)))).toEqual([]);
    expect(arrayBufferBytes() - before).toBeLessThan(arrayBytesJumpMax);
    expect(parser.bufferedBytes).toBe(1000);
  });

  it('waits on a bulk length of the default 16 MB limit without allocating for it', () => {
    const parser = new RequestParser(defaults);
    const before = arrayBufferBytes();
    expect(parser.push(bytes(`*1\r\n$${defaults.bulkBytesMax}\r\n`))).toEqual([]);
    expect(arrayBufferBytes() - before).toBeLessThan(arrayBytesJumpMax);
    expect(parser.bufferedBytes).toBe(0);
  });
});
