/**
 * Key commands: existence, deletion and expiry, as Redis 7's db.c and expire.c answer them.
 */
import type { Buffer } from 'node:buffer';
import type { Entry } from '../../read-view.js';
import { integerArg, ReplyError } from '../arguments.js';
import { textOf } from '../byte-text.js';
import { type Command, type CommandContext, word } from '../command.js';
import { integerReply, simpleReply } from '../reply.js';
import { conditionalWriteAttemptsMax, updateKey } from '../store-calls.js';

/** DEL / UNLINK: one atomic batch of the keys that exist, conditional on the versions read. */
function deleteKeys(name: string): Command {
  return {
    name,
    arity: -2,
    kind: 'reads',
    keys: [1, -1, 1],
    flags: ['write'],
    async run(context, args) {
      const { store } = context; // the transaction's view inside EXEC
      const keys = [...new Set(args.slice(1).map(textOf))];
      for (let attempt = 0; attempt < conditionalWriteAttemptsMax; attempt++) {
        const present = keys.flatMap((key) => {
          const entry = store.getEntry(key);
          return entry === undefined ? [] : [{ key, version: entry.version }];
        });
        if (present.length === 0) return integerReply(0);
        const written = await store.batch(
          present.map(({ key }) => ({ type: 'delete' as const, key })),
          { checks: present },
        );
        if (written.ok) return integerReply(present.length);
      }
      throw new ReplyError(`ERR keys changed by other clients ${conditionalWriteAttemptsMax} times in a row; not deleted`);
    },
  };
}

const exists: Command = {
  name: 'exists',
  arity: -2,
  kind: 'reads',
  keys: [1, -1, 1],
  flags: ['readonly', 'fast'],
  // A key named twice counts twice, as in Redis.
  run: (context, args) => integerReply(args.slice(1).filter((key) => context.store.has(textOf(key))).length),
};

const type: Command = {
  name: 'type',
  arity: 2,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['readonly', 'fast'],
  run: (context, args) => simpleReply(context.store.has(textOf(args[1])) ? 'string' : 'none'),
};

/** NX / XX / GT / LT of EXPIRE and friends: whether the new expiry may replace `current` (null: none). */
function expiryAllowed(flags: Set<string>, current: number | null, next: number): boolean {
  if (flags.has('nx') && current !== null) return false;
  if (flags.has('xx') && current === null) return false;
  // No expiry counts as an infinite one: GT never replaces it, LT always does (Redis's rule).
  if (flags.has('gt') && (current === null || next <= current)) return false;
  if (flags.has('lt') && current !== null && next >= current) return false;
  return true;
}

function expiryFlags(args: Buffer[]): Set<string> {
  const flags = new Set<string>();
  for (const arg of args.slice(3)) {
    const flag = word(arg);
    if (!['nx', 'xx', 'gt', 'lt'].includes(flag)) throw new ReplyError(`ERR Unsupported option ${arg.toString('latin1')}`);
    flags.add(flag);
  }
  if (flags.has('nx') && flags.size > 1) throw new ReplyError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags.has('gt') && flags.has('lt')) throw new ReplyError('ERR GT and LT options at the same time are not compatible');
  return flags;
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: the value kept, the expiry set, conditional on the version read. */
function expireCommand(name: string, toEpochMs: (amount: number, now: number) => number): Command {
  return {
    name,
    arity: -3,
    kind: 'reads',
    keys: [1, 1, 1],
    flags: ['write', 'fast'],
    run(context, args) {
      const amount = integerArg(args[2]);
      const flags = expiryFlags(args);
      const expiresAt = toEpochMs(amount, Date.now());
      if (!Number.isSafeInteger(expiresAt)) throw new ReplyError(`ERR invalid expire time in '${name}' command`);
      const key = textOf(args[1]);
      if (flags.size === 0 && expiresAt > Date.now()) {
        // No condition on the current expiry: one expire record, which the store resolves against the
        // key as it sequences it (0 if it is gone), and which keyspace events announce as "expire".
        return context.store.expire(key, { expiresAt }).then((written) => integerReply(written.ok ? 1 : 0));
      }
      return updateKey(context.store, key, (entry) => {
        if (entry === undefined || !expiryAllowed(flags, entry.expiresAt, expiresAt)) return { result: integerReply(0) };
        return { result: integerReply(1), commit: () => setExpiry(context, key, entry, expiresAt) };
      });
    },
  };
}

/** A time already past deletes the key, as Redis does (it never stores an expired key). */
function setExpiry(context: CommandContext, key: string, entry: Entry<string>, expiresAt: number) {
  const { store } = context; // the transaction's view inside EXEC
  if (expiresAt <= Date.now()) return store.delete(key, { ifVersion: entry.version });
  return store.put(key, entry.value, { ifVersion: entry.version, expiresAt });
}

const persist: Command = {
  name: 'persist',
  arity: 2,
  kind: 'reads',
  keys: [1, 1, 1],
  flags: ['write', 'fast'],
  run(context, args) {
    const key = textOf(args[1]);
    if (context.store.getEntry(key)?.expiresAt == null) return integerReply(0);
    // One expire record removing the expiry ("persist" in keyspace events); 0 if the key went meanwhile.
    return context.store.expire(key, null).then((written) => integerReply(written.ok ? 1 : 0));
  },
};

/** TTL, PTTL, EXPIRETIME, PEXPIRETIME: −2 no key, −1 no expiry. */
function ttlCommand(name: string, answer: (expiresAt: number, now: number) => number): Command {
  return {
    name,
    arity: 2,
    kind: 'reads',
    keys: [1, 1, 1],
    flags: ['readonly', 'fast'],
    run(context, args) {
      const entry = context.store.getEntry(textOf(args[1]));
      if (entry === undefined) return integerReply(-2);
      if (entry.expiresAt === null) return integerReply(-1);
      return integerReply(answer(entry.expiresAt, Date.now()));
    },
  };
}

export const keyCommands: Command[] = [
  deleteKeys('del'),
  deleteKeys('unlink'),
  exists,
  type,
  expireCommand('expire', (seconds, now) => now + seconds * 1000),
  expireCommand('pexpire', (ms, now) => now + ms),
  expireCommand('expireat', (seconds) => seconds * 1000),
  expireCommand('pexpireat', (ms) => ms),
  persist,
  // Redis rounds TTL to the nearest second: (ms + 500) / 1000.
  ttlCommand('ttl', (expiresAt, now) => Math.floor((Math.max(0, expiresAt - now) + 500) / 1000)),
  ttlCommand('pttl', (expiresAt, now) => Math.max(0, expiresAt - now)),
  // Redis: (ms + 500) / 1000, as TTL rounds.
  ttlCommand('expiretime', (expiresAt) => Math.floor((expiresAt + 500) / 1000)),
  ttlCommand('pexpiretime', (expiresAt) => expiresAt),
];
