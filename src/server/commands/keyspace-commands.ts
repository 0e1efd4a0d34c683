/**
 * Commands that walk or move keys: KEYS, SCAN (over ordered keys, see scan-cursors.ts), RENAME,
 * RENAMENX. Patterns are matched by glob.ts (iterative, bounded work; never a RegExp).
 */
import type { Buffer } from 'node:buffer';
import { integerArg, ReplyError, syntaxError } from '../arguments.js';
import { bytesOf, textOf } from '../byte-text.js';
import { type Command, type CommandContext, word } from '../command.js';
import { compileGlob, type GlobMatcher } from '../glob.js';
import { arrayReply, bulkReply, integerReply, okReply, type Reply } from '../reply.js';
import { conditionalWriteAttemptsMax } from '../store-calls.js';
import type { RangeOptions } from '../../types.js';

const keys: Command = {
  name: 'keys',
  arity: 2,
  kind: 'reads',
  flags: ['readonly'],
  run(context, args) {
    const matches = compileGlob(args[1]);
    const found: Reply[] = [];
    // Every key is matched: a key that is not UTF-8 is stored behind a tag, outside any text prefix's range.
    for (const key of context.server.store.keys()) {
      const wire = bytesOf(key);
      if (matches(wire)) found.push(bulkReply(wire));
    }
    return arrayReply(found);
  },
};

interface ScanOptions {
  matches: GlobMatcher | undefined;
  count: number;
  /** False when TYPE names anything but string: nothing matches. */
  typeMatches: boolean;
}

function scanOptionsOf(args: Buffer[]): ScanOptions {
  const options: ScanOptions = { matches: undefined, count: 10, typeMatches: true };
  for (let at = 2; at < args.length; at += 2) {
    const option = word(args[at]);
    const value = args[at + 1];
    if (value === undefined) throw new ReplyError(syntaxError);
    if (option === 'match') {
      options.matches = compileGlob(value);
    } else if (option === 'count') {
      options.count = integerArg(value);
      if (options.count < 1) throw new ReplyError(syntaxError);
    } else if (option === 'type') {
      options.typeMatches = word(value) === 'string';
    } else throw new ReplyError(syntaxError);
  }
  return options;
}

/** SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: COUNT keys examined per call, as in Redis. */
const scan: Command = {
  name: 'scan',
  arity: -2,
  kind: 'reads',
  flags: ['readonly'],
  run(context, args) {
    const cursorText = args[1].toString('latin1');
    if (!/^(0|[1-9][0-9]*)$/.test(cursorText) || !Number.isSafeInteger(Number(cursorText))) throw new ReplyError('ERR invalid cursor');
    const options = scanOptionsOf(args);
    const cursor = Number(cursorText);
    const after = cursor === 0 ? undefined : context.server.scanCursors.resume(cursor);
    if (cursor !== 0 && after === undefined) throw new ReplyError('ERR invalid cursor (unknown or expired: start the scan again from 0)');
    const range: RangeOptions = { limit: options.count };
    if (after !== undefined) range.gt = after;
    const found: Reply[] = [];
    let last: string | undefined;
    let examined = 0;
    for (const key of context.server.store.keys(range)) {
      last = key;
      examined++;
      if (!options.typeMatches) continue;
      const wire = bytesOf(key);
      if (options.matches === undefined || options.matches(wire)) found.push(bulkReply(wire));
    }
    const next = examined < options.count || last === undefined ? 0 : context.server.scanCursors.save(last);
    return arrayReply([bulkReply(String(next)), arrayReply(found)]);
  },
};

/** RENAME / RENAMENX: one batch (put the new key with the value and expiry, delete the old), conditional on both versions read. */
function rename(name: string, onlyIfAbsent: boolean): Command {
  return {
    name,
    arity: 3,
    kind: 'reads',
    keys: [1, 2, 1],
    flags: ['write'],
    async run(context: CommandContext, args) {
      const { store } = context;
      const from = textOf(args[1]);
      const to = textOf(args[2]);
      for (let attempt = 0; attempt < conditionalWriteAttemptsMax; attempt++) {
        const source = store.getEntry(from);
        if (source === undefined) throw new ReplyError('ERR no such key');
        const target = store.getEntry(to);
        if (onlyIfAbsent && target !== undefined) return integerReply(0);
        if (from === to) return onlyIfAbsent ? integerReply(0) : okReply;
        const expiry = source.expiresAt === null ? {} : { expiresAt: source.expiresAt };
        const checks = [
          { key: from, version: source.version },
          target === undefined ? { key: to, absent: true as const } : { key: to, version: target.version },
        ];
        const written = await store.batch(
          [
            { type: 'put', key: to, value: source.value, ...expiry },
            { type: 'delete', key: from },
          ],
          { checks },
        );
        if (written.ok) return onlyIfAbsent ? integerReply(1) : okReply;
      }
      throw new ReplyError(`ERR keys changed by other clients ${conditionalWriteAttemptsMax} times in a row; not renamed`);
    },
  };
}

export const keyspaceCommands: Command[] = [keys, scan, rename('rename', false), rename('renamenx', true)];
