/**
 * Server commands: DBSIZE, FLUSHDB/FLUSHALL, TIME, INFO, CONFIG GET/SET, SAVE/BGSAVE, LASTSAVE,
 * COMMAND. What Redis reports that has no meaning here is left out rather than invented.
 */
import type { Buffer } from 'node:buffer';
import os from 'node:os';
import { ReplyError, syntaxError } from '../arguments.js';
import { type Command, type CommandContext, word } from '../command.js';
import { arrayReply, bulkReply, integerReply, mapReply, okReply, type Reply, simpleReply } from '../reply.js';
import { globMatchText } from '../glob.js';
import { redisVersionCompatible } from './connection-commands.js';

const dbsize: Command = {
  name: 'dbsize',
  arity: 1,
  kind: 'reads',
  flags: ['readonly', 'fast'],
  run: (context) => integerReply(context.server.store.size),
};

function flush(name: string): Command {
  return {
    name,
    arity: -1,
    kind: 'reads',
    flags: ['write'],
    async run(context, args) {
      // ASYNC and SYNC are accepted; either way the reply comes once the delete is durable.
      if (args.length > 2 || (args.length === 2 && !['async', 'sync'].includes(word(args[1])))) throw new ReplyError(syntaxError);
      await context.server.store.deleteRange({});
      return okReply;
    },
  };
}

const time: Command = {
  name: 'time',
  arity: 1,
  kind: 'connection',
  flags: ['fast'],
  run() {
    const microseconds = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
    return arrayReply([bulkReply(String(microseconds / 1_000_000n)), bulkReply(String(microseconds % 1_000_000n))]);
  },
};

function infoSections(context: CommandContext): Record<string, Array<[string, string | number]>> {
  const { server } = context;
  const stats = server.store.stats();
  const { sync } = server.store.settings;
  const uptimeSeconds = Math.floor((Date.now() - server.startedAtMs) / 1000);
  return {
    server: [
      ['redis_version', redisVersionCompatible],
      ['durable_kv', 'yes'],
      ['redis_mode', 'standalone'],
      ['os', `${os.type()} ${os.release()} ${os.arch()}`],
      ['process_id', process.pid],
      ['tcp_port', server.listening.port ?? 0],
      ['uptime_in_seconds', uptimeSeconds],
      ['uptime_in_days', Math.floor(uptimeSeconds / 86_400)],
      ['executable', process.execPath],
    ],
    clients: [
      ['connected_clients', server.sessions.size],
      ['maxclients', server.maxClients],
    ],
    persistence: [
      // Open means recovered: the server starts once the store is ready.
      ['loading', 0],
      ['rdb_bgsave_in_progress', stats.snapshotInProgress ? 1 : 0],
      ['rdb_last_save_time', server.lastSaveSeconds],
      ['aof_enabled', 1],
      ['aof_fsync', sync === 'always' ? 'always' : sync === 'interval' ? 'everysec' : 'no'],
      ['wal_bytes', stats.walBytes],
      ['wal_segments', stats.walSegments],
      ['last_seq', stats.lastSeq],
      ['snapshot_seq', stats.snapshotSeq],
      ['keys_loading', stats.keysLoading],
    ],
    stats: [
      ['total_connections_received', server.counters.connectionsReceived],
      ['total_commands_processed', server.counters.commandsProcessed],
      ['rejected_connections', server.counters.rejectedConnections],
      ['pending_writes', stats.pendingWrites],
    ],
    replication: server.replicationInfo(),
    keyspace: stats.keys > 0 ? [['db0', `keys=${stats.keys},expires=0,avg_ttl=0`]] : [],
  };
}

const sectionTitles: Record<string, string> = {
  server: 'Server',
  clients: 'Clients',
  persistence: 'Persistence',
  stats: 'Stats',
  replication: 'Replication',
  keyspace: 'Keyspace',
};

const info: Command = {
  name: 'info',
  arity: -1,
  kind: 'reads',
  flags: ['loading', 'stale'],
  run(context, args) {
    const sections = infoSections(context);
    const asked = args.slice(1).map(word);
    const everything = asked.length === 0 || asked.some((name) => ['all', 'default', 'everything'].includes(name));
    const names = Object.keys(sections).filter((name) => everything || asked.includes(name));
    const text = names
      .map((name) => [`# ${sectionTitles[name]}`, ...sections[name].map(([field, value]) => `${field}:${value}`)].join('\r\n'))
      .join('\r\n\r\n');
    return bulkReply(`${text}\r\n`);
  },
};

/** The settings CONFIG GET answers; CONFIG SET changes notify-keyspace-events only (the rest are fixed at start). */
function configValues(context: CommandContext): Array<[string, string]> {
  const { server } = context;
  const { sync } = server.store.settings;
  return [
    ['appendonly', 'yes'],
    ['appendfsync', sync === 'always' ? 'always' : sync === 'interval' ? 'everysec' : 'no'],
    ['databases', '1'],
    ['maxclients', String(server.maxClients)],
    ['port', String(server.listening.port ?? 0)],
    ['unixsocket', server.listening.unixSocket ?? ''],
    ['save', ''],
    ['proto-max-bulk-len', String(server.store.settings.valueBytesMax)],
    ['notify-keyspace-events', server.keyspaceEvents.flags],
  ];
}

const config: Command = {
  name: 'config',
  arity: -2,
  kind: 'connection',
  flags: ['admin'],
  run(context, args) {
    const sub = word(args[1]);
    if (sub === 'get' && args.length >= 3) {
      const patterns = args.slice(2).map((arg: Buffer) => arg.toString('utf8'));
      const pairs = configValues(context).filter(([name]) => patterns.some((pattern) => globMatchText(pattern, name, { nocase: true })));
      return mapReply(
        pairs.map(([name, value]): [Reply, Reply] => [bulkReply(name), bulkReply(value)]),
        context.session.protocol,
      );
    }
    if (sub === 'set' && args.length === 4 && word(args[2]) === 'notify-keyspace-events') {
      context.server.keyspaceEvents.configure(args[3].toString('latin1'));
      return okReply;
    }
    if (sub === 'set' && args.length >= 4)
      throw new ReplyError(`ERR Unknown option or number of arguments for CONFIG SET - '${args[2].toString('latin1')}'`);
    if (sub === 'resetstat' && args.length === 2) return okReply;
    throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1].toString('latin1')}'. Try CONFIG HELP.`);
  },
};

async function snapshotNow(context: CommandContext): Promise<void> {
  await context.server.store.snapshot();
  context.server.lastSaveSeconds = Math.floor(Date.now() / 1000);
}

const save: Command = {
  name: 'save',
  arity: 1,
  kind: 'reads',
  flags: ['admin'],
  run: (context) => snapshotNow(context).then(() => okReply),
};

const bgsave: Command = {
  name: 'bgsave',
  arity: -1,
  kind: 'reads',
  flags: ['admin'],
  run(context) {
    // The reply does not wait; a failed snapshot is the store's 'error' event, as Redis logs a failed BGSAVE.
    snapshotNow(context).catch(() => {});
    return simpleReply('Background saving started');
  },
};

const lastsave: Command = {
  name: 'lastsave',
  arity: 1,
  kind: 'connection',
  flags: ['fast'],
  run: (context) => integerReply(context.server.lastSaveSeconds),
};

export const serverCommands: Command[] = [dbsize, flush('flushdb'), flush('flushall'), time, info, config, save, bgsave, lastsave];
