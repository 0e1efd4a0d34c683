import { type Command, Option } from 'commander';
import { type RespServer, type ServeOptions, serveResp } from '../../server/index.js';
import { type ReplicaNode, runReplicaNode } from '../../replication/index.js';
import type { DurableKVStore } from '../../store.js';
import { handled } from '../action.js';
import { contextOf, note } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { openStore } from '../open-store.js';

interface ServeFlags {
  port?: string;
  host?: string;
  unixSocket?: string;
  maxClients?: string;
  idleTimeoutMs?: string;
  sync?: 'always' | 'interval' | 'never';
  replicate?: string;
  group?: string;
  ack?: 'local' | 'replicated';
  maxLagRecords?: string;
  leaseTtlMs?: string;
  streamReplicas?: string;
  nodeName?: string;
}

/**
 * `durable-kv serve <dir>`: the store over the Redis protocol until SIGTERM or SIGINT, which stop
 * accepting, let every client finish what it sent and read its replies, close the store, and exit 0.
 * The password comes from DURABLE_KV_PASSWORD, not a flag, so it never shows in `ps`.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the store over the Redis protocol (RESP2/RESP3) until SIGTERM or SIGINT')
    .argument('<dir>', 'store directory (created if missing)')
    .option('--port <port>', 'TCP port (0: any free port; default 6379, or none with --unix-socket)')
    .option('--host <host>', 'address to bind; anything but loopback needs DURABLE_KV_PASSWORD', '127.0.0.1')
    .option('--unix-socket <path>', 'also listen on this Unix socket')
    .option('--max-clients <n>', 'connections served at once', '10000')
    .option('--idle-timeout-ms <ms>', 'close a connection idle this long (0: never)', '0')
    .addOption(
      new Option('--sync <mode>', "when a write's reply is sent: after fdatasync (always), or not").choices([
        'always',
        'interval',
        'never',
      ]),
    )
    .option('--replicate <urls>', 'NATS server URLs (comma-separated): lead or follow --group as elected')
    .option('--group <name>', 'the replication group (with --replicate)')
    .addOption(
      new Option('--ack <mode>', "as leader, a write's reply waits for: the stream too, or only this disk").choices([
        'replicated',
        'local',
      ]),
    )
    .option('--max-lag-records <n>', 'with --ack local: replied-to records not yet in the stream before writers wait')
    .option('--lease-ttl-ms <ms>', 'how long a silent leader keeps the lead (failover takes about this)')
    .option('--stream-replicas <n>', 'replicas of the group stream if this node creates it (default 3)')
    .option('--node-name <name>', "this node's name, which followers give clients as the leader (default host:port)")
    .addHelpText('after', '\nEnvironment:\n  DURABLE_KV_PASSWORD   clients must AUTH with it (user "default")')
    .action(
      handled(async (dir: string, flags: ServeFlags, command: Command) => {
        if (contextOf(command).encoding !== 'utf8')
          throw new CliError('serve needs --encoding utf8 (Redis values are strings)', exitCodes.usage, 'ERR_INVALID_ARG');
        const serveOptions: ServeOptions = {
          port: integerFlag('--port', flags.port),
          host: flags.host,
          unixSocket: flags.unixSocket,
          password: process.env.DURABLE_KV_PASSWORD || undefined,
          maxClients: integerFlag('--max-clients', flags.maxClients),
          idleTimeoutMs: integerFlag('--idle-timeout-ms', flags.idleTimeoutMs),
        };
        if (flags.replicate !== undefined) await serveReplicated(dir, flags, serveOptions);
        else await serveLocal(dir, flags, serveOptions, command);
        return exitCodes.ok;
      }),
    );
}

async function serveLocal(dir: string, flags: ServeFlags, serveOptions: ServeOptions, command: Command): Promise<void> {
  const store = (await openStore(dir, contextOf(command), { create: true, sync: flags.sync })) as DurableKVStore<string>;
  try {
    const server = await serveResp(store, serveOptions);
    note(`serving ${dir} on ${describeAddress(server, flags)}`);
    const signal = await stopSignal();
    note(`${signal}: finishing ${server.clients} connection(s), then closing the store`);
    await server.close();
  } finally {
    await store.close();
  }
}

/**
 * A node of a replication group: it follows (writes answered -READONLY naming the leader) and
 * leads when elected. When the node's store is rebuilt (a fenced leader rejoining), the server is
 * started again on the new store.
 */
async function serveReplicated(dir: string, flags: ServeFlags, serveOptions: ServeOptions): Promise<void> {
  if (flags.group === undefined) throw new CliError('--replicate needs --group <name>', exitCodes.usage, 'ERR_INVALID_ARG');
  if (flags.port === '0' && flags.nodeName === undefined) {
    throw new CliError(
      '--replicate with --port 0 needs --node-name (followers name the leader to clients)',
      exitCodes.usage,
      'ERR_INVALID_ARG',
    );
  }
  const host = serveOptions.host ?? '127.0.0.1';
  if (flags.nodeName === undefined && (host === '0.0.0.0' || host === '::')) {
    throw new CliError(
      `--replicate on ${host} needs --node-name: the address other machines reach this node at (followers name the leader to clients)`,
      exitCodes.usage,
      'ERR_INVALID_ARG',
    );
  }
  const name = flags.nodeName ?? `${host}:${serveOptions.port ?? 6379}`;
  const node = await runReplicaNode(dir, {
    servers: flags.replicate?.split(',') ?? [],
    group: flags.group,
    name,
    ack: flags.ack,
    maxLagRecords: integerFlag('--max-lag-records', flags.maxLagRecords),
    leaseTtlMs: integerFlag('--lease-ttl-ms', flags.leaseTtlMs),
    streamReplicas: integerFlag('--stream-replicas', flags.streamReplicas),
    store: { valueEncoding: 'utf8', sync: flags.sync },
  });
  node.on('warning', (error) => note(`replication: ${error.message}`));
  const server = new ServerOnNode(node, { ...serveOptions, replicationInfo: () => replicationInfo(node) });
  try {
    await server.start();
    note(`serving ${dir} on ${server.address(flags)}, ${node.role} of group ${flags.group} as ${name}`);
    const signal = await stopSignal();
    note(`${signal}: finishing ${server.clients} connection(s), then leaving the group and closing the store`);
    await server.stop();
  } finally {
    await node.close();
    await server.stop(); // a store change during the close started nothing: stop() is final
  }
}

/**
 * The RESP server of a replica node: started again on the node's new store whenever the node
 * rebuilds it (a fenced leader rejoining), on the port first bound; stopped for good by `stop()`.
 */
class ServerOnNode {
  readonly #node: ReplicaNode<string>;
  readonly #options: ServeOptions;
  #server: RespServer | undefined;
  #served: DurableKVStore<string> | undefined;
  /** Store changes, one at a time; `stop()` waits for the one running. */
  #changes: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #onRole = (role: string, store: DurableKVStore<string>) => {
    note(`now ${role}`);
    this.#changes = this.#changes
      .then(() => this.#serve(store))
      .catch((error: Error) => note(`serving the new store failed: ${error.message}`));
  };

  constructor(node: ReplicaNode<string>, options: ServeOptions) {
    this.#node = node;
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#node.on('role', this.#onRole); // before the first serve: a change meanwhile is not missed
    await this.#serve(this.#node.store);
  }

  get clients(): number {
    return this.#server?.clients ?? 0;
  }

  address(flags: ServeFlags): string {
    return this.#server === undefined ? 'nothing (stopped)' : describeAddress(this.#server, flags);
  }

  async #serve(store: DurableKVStore<string>): Promise<void> {
    if (this.#stopped || store === this.#served) return;
    const previous = this.#server;
    // The port first bound, so clients (and the node's advertised name) keep finding it: read before the close.
    const address = previous?.address();
    const port = address !== undefined && address !== null && typeof address !== 'string' ? address.port : this.#options.port;
    this.#server = undefined;
    await previous?.close();
    if (this.#stopped) return;
    this.#served = store;
    this.#server = await serveResp(store, { ...this.#options, port });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#node.off('role', this.#onRole);
    await this.#changes;
    await this.#server?.close();
    this.#server = undefined;
  }
}

/** INFO's replication section, in Redis's field names where Redis has one. */
function replicationInfo(node: ReplicaNode<string>): Array<[string, string | number]> {
  const stats = node.stats();
  if (stats.role === 'leader') {
    return [
      ['role', 'master'],
      ['connected_slaves', 0],
      ['dkv_node', stats.name],
      ['dkv_epoch', stats.epoch],
      ['dkv_ack', stats.ack],
      ['master_repl_offset', stats.committedSeq],
      ['dkv_shipped_seq', stats.shippedSeq],
      ['dkv_lag_records', stats.lagRecords],
    ];
  }
  if (stats.role === 'follower') {
    const [host, port] = splitAddress(stats.leader);
    return [
      ['role', 'slave'],
      ['master_host', host],
      ['master_port', port],
      ['master_link_status', stats.leader === '' ? 'down' : 'up'],
      ['slave_repl_offset', stats.appliedSeq],
      ['slave_read_only', 1],
      ['dkv_node', stats.name],
      ['dkv_epoch', stats.epoch],
      ['dkv_lag_records', stats.lagRecords],
      ['dkv_lag_messages', stats.lagMessages],
      ['dkv_lag_ms', stats.lagMs],
    ];
  }
  return [
    ['role', 'slave'],
    ['master_link_status', 'down'],
  ];
}

function splitAddress(name: string): [string, string | number] {
  const colon = name.lastIndexOf(':');
  const port = Number(name.slice(colon + 1));
  return colon > 0 && Number.isInteger(port) ? [name.slice(0, colon), port] : [name, 0];
}

function describeAddress(server: RespServer, flags: ServeFlags): string {
  const address = server.address();
  return `${typeof address === 'string' ? address : `${address.address}:${address.port}`}${flags.unixSocket ? ` and ${flags.unixSocket}` : ''}`;
}

function stopSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number))
    throw new CliError(`${name} must be a non-negative integer, got ${value}`, exitCodes.usage, 'ERR_INVALID_ARG');
  return number;
}
