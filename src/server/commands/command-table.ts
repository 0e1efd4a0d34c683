/**
 * Every command the server knows, by lower-case name, and COMMAND itself, which describes them in
 * Redis 7's format (name, arity, flags, first key, last key, step, ACL categories, tips, key specs,
 * subcommands) so clients that ask get an answer they can parse.
 */
import { ReplyError } from '../arguments.js';
import { type Command, word } from '../command.js';
import { arrayReply, bulkReply, integerReply, mapReply, nullReply, type Reply, setReply, simpleReply } from '../reply.js';
import { connectionCommands } from './connection-commands.js';
import { keyCommands } from './key-commands.js';
import { keyspaceCommands } from './keyspace-commands.js';
import { serverCommands } from './server-commands.js';
import { stringCommands } from './string-commands.js';
import { pubsubCommands } from './pubsub-commands.js';
import { execCommand, transactionCommands } from './transaction-commands.js';

function infoOf(command: Command, protocol: 2 | 3): Reply {
  const [first, last, step] = command.keys ?? [0, 0, 0];
  return arrayReply([
    bulkReply(command.name),
    integerReply(command.arity),
    setReply(
      command.flags.map((flag) => simpleReply(flag)),
      protocol,
    ),
    integerReply(first),
    integerReply(last),
    integerReply(step),
    setReply([], protocol),
    setReply([], protocol),
    arrayReply([]),
    arrayReply([]),
  ]);
}

const command: Command = {
  name: 'command',
  arity: -1,
  kind: 'connection',
  flags: ['loading', 'stale'],
  run(context, args) {
    const { protocol } = context.session;
    const all = [...commandTable.values()];
    if (args.length === 1) return arrayReply(all.map((entry) => infoOf(entry, protocol)));
    const sub = word(args[1]);
    if (sub === 'count' && args.length === 2) return integerReply(all.length);
    if (sub === 'list' && args.length === 2) return arrayReply(all.map((entry) => bulkReply(entry.name)));
    if (sub === 'info') {
      const asked = args.length === 2 ? all.map((entry) => entry.name) : args.slice(2).map(word);
      return arrayReply(
        asked.map((name) => (commandTable.has(name) ? infoOf(commandTable.get(name) as Command, protocol) : nullReply(protocol))),
      );
    }
    // Documentation is not served: an empty map says so in a shape clients (redis-cli's hints) accept.
    if (sub === 'docs') return mapReply([], protocol);
    throw new ReplyError(`ERR unknown subcommand '${args[1].toString('latin1')}'. Try COMMAND HELP.`);
  },
};

export const commandTable: ReadonlyMap<string, Command> = new Map(
  [
    ...connectionCommands,
    ...serverCommands,
    ...stringCommands,
    ...keyCommands,
    ...keyspaceCommands,
    ...transactionCommands,
    ...pubsubCommands,
    execCommand((name) => commandTable.get(name)),
    command,
  ].map((entry) => [entry.name, entry]),
);

/**
 * What MULTI may queue: the commands that work through the store's key API (strings, keys,
 * RENAME), which EXEC runs against its view; and PING, ECHO, TIME. Walks (KEYS, SCAN), whole-store
 * commands (FLUSHDB, SAVE, INFO, DBSIZE) and connection state are refused at queue time with
 * Redis's "Command not allowed inside a transaction", which aborts the transaction.
 */
export const transactionalCommands: ReadonlySet<string> = new Set([
  ...stringCommands.map((entry) => entry.name),
  ...keyCommands.map((entry) => entry.name),
  'rename',
  'renamenx',
  'ping',
  'echo',
  'time',
  // Queued, as in Redis: EXEC has checked the watched keys before it runs anything.
  'unwatch',
  // Queued, as in Redis ("write and announce"): delivered when EXEC runs its commands, which is
  // before the transaction's batch is durable, as Redis delivers before its AOF fsync.
  'publish',
]);

/** Run at once even between MULTI and EXEC. */
export const transactionControl: ReadonlySet<string> = new Set(['multi', 'exec', 'discard', 'watch', 'quit', 'reset']);
