/**
 * String commands (every value is a string: WRONGTYPE never happens). Texts, reply types and edge
 * cases follow Redis 7's t_string.c.
 */
import { Buffer } from 'node:buffer';
import type { PutOptions, TtlOptions } from '../../write-options.js';
import { expireTimeArg, integerArg, ReplyError, syntaxError } from '../arguments.js';
import { bytesOf, textOf, wireBytes, wireOf } from '../byte-text.js';
import { type Command, type CommandContext, word } from '../command.js';
import { arrayReply, bulkReply, integerReply, nullReply, okReply, type Reply } from '../reply.js';
import { updateKey } from '../store-calls.js';

interface SetOptions {
  condition: 'nx' | 'xx' | undefined;
  get: boolean;
  ttl: TtlOptions & { keepTtl?: boolean };
}

/** SET's options after key and value, as Redis parses them (parseExtendedStringArgumentsOrReply). */
function setOptionsOf(args: Buffer[], now: number): SetOptions {
  const options: SetOptions = { condition: undefined, get: false, ttl: {} };
  let expiry: string | undefined;
  for (let at = 3; at < args.length; at++) {
    const option = word(args[at]);
    const next = args[at + 1];
    if ((option === 'nx' || option === 'xx') && options.condition === undefined) options.condition = option;
    else if (option === 'get' && !options.get) options.get = true;
    else if (option === 'keepttl' && expiry === undefined) {
      expiry = option;
      options.ttl = { keepTtl: true };
    } else if ((option === 'ex' || option === 'px' || option === 'exat' || option === 'pxat') && expiry === undefined && next) {
      expiry = option;
      options.ttl = ttlOf(option, expireTimeArg(next, 'set'), now, 'set');
      at++;
    } else throw new ReplyError(syntaxError);
  }
  return options;
}

/** EX/PX/EXAT/PXAT as the store's options; a time past what epoch ms can hold is Redis's error. */
export function ttlOf(unit: string, amount: number, now: number, command: string): TtlOptions {
  const ms = unit === 'ex' || unit === 'exat' ? amount * 1000 : amount;
  const expiresAt = unit === 'ex' || unit === 'px' ? now + ms : ms;
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) throw new ReplyError(`ERR invalid expire time in '${command}' command`);
  return { expiresAt };
}

const value = (context: CommandContext, key: string): string | undefined => context.store.get(key);

function valueReply(context: CommandContext, stored: string | undefined): Reply {
  return stored === undefined ? nullReply(context.session.protocol) : bulkReply(wireOf(stored));
}

async function put(context: CommandContext, key: string, stored: string, options?: PutOptions): Promise<boolean> {
  return (await context.store.put(key, stored, options)).ok;
}

/** SET with GET or XX reads first; plain SET and SET NX are decided by the store as it sequences them. */
const set: Command = {
  name: 'set',
  arity: -3,
  kind: (args) => (args.length > 3 && args.slice(3).some((arg) => ['get', 'xx'].includes(word(arg))) ? 'reads' : 'blind'),
  keys: [1, 1, 1],
  flags: ['write', 'denyoom'],
  run(context, args) {
    const options = setOptionsOf(args, Date.now());
    const key = textOf(args[1]);
    const stored = textOf(args[2]);
    const { protocol } = context.session;
    if (!options.get && options.condition !== 'xx') {
      const written = put(context, key, stored, { ...options.ttl, ifAbsent: options.condition === 'nx' || undefined });
      return written.then((ok) => (ok ? okReply : nullReply(protocol)));
    }
    return updateKey(context.store, key, (entry) => {
      const previous = options.get ? valueReply(context, entry?.value) : okReply;
      const skip = (options.condition === 'nx' && entry !== undefined) || (options.condition === 'xx' && entry === undefined);
      if (skip) return { result: options.get ? previous : nullReply(protocol) };
      return { result: previous, commit: (condition) => context.store.put(key, stored, { ...options.ttl, ...condition }) };
    });
  },
};

function setWithTtl(name: string, unit: 'ex' | 'px'): Command {
  return {
    name,
    arity: 4,
    kind: 'blind',
    keys: [1, 1, 1],
    flags: ['write', 'denyoom'],
    run(context, args) {
      const ttl = ttlOf(unit, expireTimeArg(args[2], name), Date.now(), name);
      return put(context, textOf(args[1]), textOf(args[3]), ttl).then(() => okReply);
    },
  };
}

const setnx: Command = {
  name: 'setnx',
  arity: 3,
  kind: 'blind',
  keys: [1, 1, 1],
  flags: ['write', 'denyoom', 'fast'],
  run: (context, args) => put(context, textOf(args[1]), textOf(args[2]), { ifAbsent: true }).then((ok) => integerReply(ok ? 1 : 0)),
};

const get: Command = {
  name: 'get',
  arity: 2,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['readonly', 'fast'],
  run: (context, args) => valueReply(context, value(context, textOf(args[1]))),
};

const getset: Command = {
  name: 'getset',
  arity: 3,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'denyoom', 'fast'],
  run: (context, args) => {
    const key = textOf(args[1]);
    const stored = textOf(args[2]);
    return updateKey(context.store, key, (entry) => ({
      result: valueReply(context, entry?.value),
      commit: (condition) => context.store.put(key, stored, condition),
    }));
  },
};

const getdel: Command = {
  name: 'getdel',
  arity: 2,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'fast'],
  run: (context, args) => {
    const key = textOf(args[1]);
    return updateKey(context.store, key, (entry) => ({
      result: valueReply(context, entry?.value),
      commit: entry === undefined ? undefined : () => context.store.delete(key, { ifVersion: entry.version }),
    }));
  },
};

const mget: Command = {
  name: 'mget',
  arity: -2,
  kind: 'reads',
  keys: [1, -1, 1],
  flags: ['readonly', 'fast'],
  run: (context, args) => arrayReply(args.slice(1).map((key) => valueReply(context, value(context, textOf(key))))),
};

function pairsOf(args: Buffer[], name: string): Array<{ type: 'put'; key: string; value: string }> {
  if (args.length % 2 === 0) throw new ReplyError(`ERR wrong number of arguments for '${name}' command`);
  const ops: Array<{ type: 'put'; key: string; value: string }> = [];
  for (let at = 1; at < args.length; at += 2) ops.push({ type: 'put', key: textOf(args[at]), value: textOf(args[at + 1]) });
  return ops;
}

const mset: Command = {
  name: 'mset',
  arity: -3,
  kind: 'blind',
  keys: [1, -1, 2],
  flags: ['write', 'denyoom'],
  run(context, args) {
    const ops = pairsOf(args, 'mset');
    return context.store.batch(ops).then(() => okReply);
  },
};

const msetnx: Command = {
  name: 'msetnx',
  arity: -3,
  kind: 'blind',
  keys: [1, -1, 2],
  flags: ['write', 'denyoom'],
  run(context, args) {
    const ops = pairsOf(args, 'msetnx');
    const checks = ops.map((op) => ({ key: op.key, absent: true as const }));
    return context.store.batch(ops, { checks }).then((written) => integerReply(written.ok ? 1 : 0));
  },
};

const strlen: Command = {
  name: 'strlen',
  arity: 2,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['readonly', 'fast'],
  run(context, args) {
    const stored = value(context, textOf(args[1]));
    return integerReply(stored === undefined ? 0 : wireBytes(stored));
  },
};

const append: Command = {
  name: 'append',
  arity: 3,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'denyoom', 'fast'],
  run(context, args) {
    const key = textOf(args[1]);
    return updateKey(context.store, key, (entry) => {
      const bytes = entry === undefined ? args[2] : Buffer.concat([bytesOf(entry.value), args[2]]);
      const stored = textOf(bytes);
      // APPEND keeps the key's expiry, as Redis's does.
      return {
        result: integerReply(bytes.byteLength),
        commit: (condition) => context.store.put(key, stored, { ...condition, keepTtl: true }),
      };
    });
  },
};

function incrementBy(name: string, sign: 1 | -1, deltaAt: number | undefined): Command {
  return {
    name,
    arity: deltaAt === undefined ? 2 : 3,
    kind: 'blind',
    keys: [1, 1, 1],
    flags: ['write', 'denyoom', 'fast'],
    run(context, args) {
      const delta = sign * (deltaAt === undefined ? 1 : integerArg(args[deltaAt]));
      return context.store.increment(textOf(args[1]), delta).then((result) => integerReply(result));
    },
  };
}

/** GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]: the value, with its expiry changed. */
const getex: Command = {
  name: 'getex',
  arity: -2,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'fast'],
  run(context, args) {
    const key = textOf(args[1]);
    const change = getexChangeOf(args, Date.now());
    if (change === undefined) return valueReply(context, value(context, key));
    return updateKey(context.store, key, (entry) => {
      if (entry === undefined) return { result: nullReply(context.session.protocol) };
      const result = valueReply(context, entry.value);
      if (change === 'persist' && entry.expiresAt === null) return { result };
      const ttl = change === 'persist' ? {} : change;
      if (ttl.expiresAt !== undefined && ttl.expiresAt <= Date.now()) {
        return { result, commit: () => context.store.delete(key, { ifVersion: entry.version }) };
      }
      return { result, commit: () => context.store.put(key, entry.value, { ...ttl, ifVersion: entry.version }) };
    });
  },
};

function getexChangeOf(args: Buffer[], now: number): TtlOptions | 'persist' | undefined {
  if (args.length === 2) return undefined;
  const option = word(args[2]);
  if (option === 'persist' && args.length === 3) return 'persist';
  if (['ex', 'px', 'exat', 'pxat'].includes(option) && args.length === 4)
    return ttlOf(option, expireTimeArg(args[3], 'getex'), now, 'getex');
  throw new ReplyError(syntaxError);
}

/** GETRANGE key start end: bytes, inclusive, negative counting from the end, as Redis clamps them. */
const getrange: Command = {
  name: 'getrange',
  arity: 4,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['readonly'],
  run(context, args) {
    let start = integerArg(args[2]);
    let end = integerArg(args[3]);
    const stored = value(context, textOf(args[1]));
    const bytes = stored === undefined ? Buffer.alloc(0) : bytesOf(stored);
    const length = bytes.byteLength;
    if (start < 0 && end < 0 && start > end) return bulkReply('');
    if (start < 0) start = Math.max(0, length + start);
    if (end < 0) end = Math.max(0, length + end);
    end = Math.min(end, length - 1);
    if (length === 0 || start > end) return bulkReply('');
    return bulkReply(bytes.subarray(start, end + 1));
  },
};

/** SETRANGE key offset value: overwrites bytes from offset, padding with zero bytes; keeps the expiry. */
const setrange: Command = {
  name: 'setrange',
  arity: 4,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'denyoom'],
  run(context, args) {
    const offset = integerArg(args[2]);
    if (offset < 0) throw new ReplyError('ERR offset is out of range');
    const patch = args[3];
    if (patch.byteLength > 0 && offset + patch.byteLength > context.store.settings.valueBytesMax) {
      throw new ReplyError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    }
    const key = textOf(args[1]);
    return updateKey(context.store, key, (entry) => {
      const before = entry === undefined ? Buffer.alloc(0) : bytesOf(entry.value);
      // An empty patch changes nothing, and creates nothing: the length as it is.
      if (patch.byteLength === 0) return { result: integerReply(before.byteLength) };
      const after = Buffer.alloc(Math.max(before.byteLength, offset + patch.byteLength));
      before.copy(after);
      patch.copy(after, offset);
      const stored = textOf(after);
      return {
        result: integerReply(after.byteLength),
        commit: (condition) => context.store.put(key, stored, { ...condition, keepTtl: true }),
      };
    });
  },
};

/**
 * A double as Redis prints INCRBYFLOAT's result (ld2string's human form: `%.17Lf`, trailing zeros and
 * point dropped), never with an exponent: the shortest exact text when JavaScript's has none.
 */
function plainDecimal(value: number): string {
  const shortest = String(value);
  if (!shortest.includes('e')) return shortest;
  if (Number.isInteger(value)) return BigInt(value).toString();
  const fixed = value.toFixed(17).replace(/0+$/, '').replace(/\.$/, '');
  return fixed === '-0' ? '0' : fixed;
}

/** A decimal float as Redis reads one: no spaces, no hex, no NaN or infinities. */
function floatOf(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : undefined;
}

/**
 * INCRBYFLOAT key increment. Redis adds in C's long double and prints 17 significant digits; here
 * it is a double printed shortest-exact (JavaScript's `String`): 0.1 + 0.2 gives "0.3" in Redis
 * and "0.30000000000000004" here. The README says so.
 */
const incrbyfloat: Command = {
  name: 'incrbyfloat',
  arity: 3,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'denyoom', 'fast'],
  run(context, args) {
    const increment = floatOf(args[2].toString('latin1'));
    if (increment === undefined) throw new ReplyError('ERR value is not a valid float');
    const key = textOf(args[1]);
    return updateKey(context.store, key, (entry) => {
      const current = entry === undefined ? 0 : floatOf(entry.value);
      if (current === undefined) throw new ReplyError('ERR value is not a valid float');
      const result = current + increment;
      if (!Number.isFinite(result)) throw new ReplyError('ERR increment would produce NaN or Infinity');
      const text = plainDecimal(result);
      return { result: bulkReply(text), commit: (condition) => context.store.put(key, text, { ...condition, keepTtl: true }) };
    });
  },
};

export const stringCommands: Command[] = [
  getex,
  getrange,
  setrange,
  incrbyfloat,
  get,
  set,
  setnx,
  setWithTtl('setex', 'ex'),
  setWithTtl('psetex', 'px'),
  getset,
  getdel,
  mget,
  mset,
  msetnx,
  strlen,
  append,
  incrementBy('incr', 1, undefined),
  incrementBy('decr', -1, undefined),
  incrementBy('incrby', 1, 2),
  incrementBy('decrby', -1, 2),
];
