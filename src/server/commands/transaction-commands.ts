/**
 * MULTI, EXEC, DISCARD, WATCH, UNWATCH. EXEC runs the queued commands against a TransactionView
 * and commits their writes as one batch, conditional on every version they read and every WATCHed
 * key's version: all or nothing, isolated from other clients, as Redis's EXEC is. A WATCHed key
 * that changed makes EXEC answer null (the transaction is not run); a conflict on a key the
 * commands only read makes EXEC run them again on the new state.
 */
import { ReplyError } from '../arguments.js';
import type { Command, CommandContext } from '../command.js';
import { textOf } from '../byte-text.js';
import { arrayReply, errorReply, nullArrayReply, okReply, type Reply } from '../reply.js';
import { conditionalWriteAttemptsMax, replyErrorFor } from '../store-calls.js';
import { TransactionView } from '../transaction-view.js';

/** Commands one transaction may queue: the batch it commits is bounded by the store's batchOpsMax too. */
export const transactionCommandsMax = 100_000;

function endTransaction(context: CommandContext): void {
  context.session.transaction = undefined;
  context.session.transactionFailed = false;
  context.session.watched.clear();
}

const multi: Command = {
  name: 'multi',
  arity: 1,
  kind: 'connection',
  flags: ['fast'],
  run(context) {
    if (context.session.transaction !== undefined) throw new ReplyError('ERR MULTI calls can not be nested');
    context.session.transaction = [];
    context.session.transactionFailed = false;
    return okReply;
  },
};

const discard: Command = {
  name: 'discard',
  arity: 1,
  kind: 'connection',
  flags: ['fast'],
  run(context) {
    if (context.session.transaction === undefined) throw new ReplyError('ERR DISCARD without MULTI');
    endTransaction(context);
    return okReply;
  },
};

const watch: Command = {
  name: 'watch',
  arity: -2,
  kind: 'reads',
  keys: [1, -1, 1],
  flags: ['fast'],
  run(context, args) {
    if (context.session.transaction !== undefined) throw new ReplyError('ERR WATCH inside MULTI is not allowed');
    for (const arg of args.slice(1)) {
      const key = textOf(arg);
      // Watching a key again keeps the first version: a change since the first WATCH still counts.
      if (!context.session.watched.has(key)) context.session.watched.set(key, context.store.getEntry(key)?.version ?? 0);
    }
    return okReply;
  },
};

const unwatch: Command = {
  name: 'unwatch',
  arity: 1,
  kind: 'connection',
  flags: ['fast'],
  run(context) {
    // Inside EXEC (queued after MULTI) it does nothing: EXEC ends the watches itself.
    if (!(context.store instanceof TransactionView)) context.session.watched.clear();
    return okReply;
  },
};

function watchedChanged(context: CommandContext): boolean {
  for (const [key, version] of context.session.watched) if ((context.store.getEntry(key)?.version ?? 0) !== version) return true;
  return false;
}

/** Runs the queued commands once against a fresh view; their replies, and what to commit. */
async function runQueued(context: CommandContext, queued: Buffer[][], lookup: (name: string) => Command | undefined) {
  const view = new TransactionView(context.store);
  const inView: CommandContext = { ...context, store: view };
  const replies: Reply[] = [];
  for (const args of queued) {
    const command = lookup(args[0].toString('latin1').toLowerCase()) as Command;
    try {
      replies.push(await command.run(inView, args));
    } catch (error) {
      // A command that fails at run time answers its error; the others run on, as in Redis.
      replies.push(errorReply(replyErrorFor(error).message));
    }
  }
  return { replies, ...view.commit() };
}

export function execCommand(lookup: (name: string) => Command | undefined): Command {
  return {
    name: 'exec',
    arity: 1,
    kind: 'reads',
    flags: [],
    async run(context) {
      const { session } = context;
      const queued = session.transaction;
      if (queued === undefined) throw new ReplyError('ERR EXEC without MULTI');
      if (session.transactionFailed) {
        endTransaction(context);
        throw new ReplyError('EXECABORT Transaction discarded because of previous errors.');
      }
      try {
        for (let attempt = 0; attempt < conditionalWriteAttemptsMax; attempt++) {
          if (watchedChanged(context)) return nullArrayReply(session.protocol);
          const { replies, operations, checks } = await runQueued(context, queued, lookup);
          if (operations.length === 0) return arrayReply(replies);
          const watchedChecks = [...session.watched].map(([key, version]) =>
            version === 0 ? { key, absent: true as const } : { key, version },
          );
          const written = await context.store.batch(operations, { checks: [...checks, ...watchedChecks] });
          if (written.ok) return arrayReply(replies);
        }
        throw new ReplyError(`ERR keys changed by other clients ${conditionalWriteAttemptsMax} times in a row; transaction not run`);
      } finally {
        endTransaction(context);
      }
    },
  };
}

export const transactionCommands: Command[] = [multi, discard, watch, unwatch];
