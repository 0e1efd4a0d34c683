/**
 * `serveResp(store, options)`: the store over the Redis protocol, on TCP and/or a Unix socket.
 *
 * Safe by default: it binds to loopback, and refuses a non-loopback host without a password. With a
 * password, a connection may send only AUTH, HELLO and QUIT (and small requests) until it
 * authenticates. `close()` stops accepting, lets every connection finish what it received and
 * write its replies, then closes them; the store stays open (its owner closes it).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { DurableKVError } from '../errors.js';
import type { DurableKVStore } from '../store.js';
import type { ServerContext, Session } from './command.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { errorReply } from './reply.js';
import { KeyspaceEvents } from './keyspace-events.js';
import { PubSub } from './pubsub.js';
import { ScanCursors } from './scan-cursors.js';
import { argumentsMaxDefault, inlineBytesMaxDefault } from './request-parser.js';
import { checkServeOptions, type ServeOptions } from './serve-options.js';

export type { ServeOptions } from './serve-options.js';

export interface RespServer {
  /** The TCP address (with the port chosen when `port` was 0), or the Unix socket's path. */
  address(): AddressInfo | string;
  /** Stops accepting, finishes what was received, replies, closes every connection. */
  close(): Promise<void>;
  /** Connected clients now. */
  readonly clients: number;
}

/** Serves `store` until `close()`. Rejects with ERR_INVALID_ARG for bad options, ERR_UNSAFE_BIND for a non-loopback host without a password, ERR_LISTEN when the address cannot be listened on. */
export async function serveResp(store: DurableKVStore<string>, options: ServeOptions = {}): Promise<RespServer> {
  const resolved = checkServeOptions(store, options);
  const passwordDigest = resolved.password === undefined ? undefined : digest(Buffer.from(resolved.password, 'utf8'));
  const sessions = new Map<number, Session>();
  const connections = new Map<Socket, Connection>();
  const pubsub = new PubSub();
  const context: ServerContext = {
    store,
    startedAtMs: Date.now(),
    passwordSet: passwordDigest !== undefined,
    // Digests of equal length, compared in constant time: neither the password's length nor its prefix leaks.
    checkPassword: (password) => passwordDigest !== undefined && timingSafeEqual(digest(password), passwordDigest),
    sessions,
    counters: { commandsProcessed: 0, connectionsReceived: 0, rejectedConnections: 0 },
    listening: { port: undefined, unixSocket: resolved.unixSocket },
    maxClients: resolved.maxClients,
    lastSaveSeconds: Math.floor(Date.now() / 1000),
    scanCursors: new ScanCursors(),
    pubsub,
    keyspaceEvents: new KeyspaceEvents(store, pubsub),
    replicationInfo:
      resolved.replicationInfo ??
      (() => [
        ['role', 'master'],
        ['connected_slaves', 0],
      ]),
  };
  const limits: ConnectionLimits = {
    request: {
      inlineBytesMax: inlineBytesMaxDefault,
      argumentsMax: argumentsMaxDefault,
      // An argument is a key or a value: the larger limit bounds it here, the store checks each exactly.
      bulkBytesMax: Math.max(store.settings.keyBytesMax, store.settings.valueBytesMax),
    },
    inboxCommandsMax: resolved.inboxCommandsMax,
    outputPauseBytes: resolved.outputPauseBytes,
    outputBytesMax: resolved.outputBytesMax,
    outputStallMs: resolved.outputStallMs,
    idleTimeoutMs: resolved.idleTimeoutMs,
  };
  let nextId = 1;
  const accept = (socket: Socket) => {
    context.counters.connectionsReceived++;
    if (connections.size >= resolved.maxClients) {
      context.counters.rejectedConnections++;
      socket.on('error', () => {});
      // Written, then closed from this side at once (the server listens half-open: a client that
      // keeps its side open must not hold a descriptor past maxClients).
      socket.end(errorReply('ERR max number of clients reached').join(''), () => socket.destroy());
      return;
    }
    socket.setNoDelay(true);
    const connection = new Connection(socket, context, nextId++, limits);
    connections.set(socket, connection);
    sessions.set(connection.session.id, connection.session);
    socket.on('error', () => {}); // a reset by the client is its business; 'close' follows
    socket.on('close', () => {
      connections.delete(socket);
      sessions.delete(connection.session.id);
    });
  };
  const servers: Server[] = [];
  if (resolved.port !== undefined) {
    const tcp = await listen(createServer({ allowHalfOpen: true }, accept), { port: resolved.port, host: resolved.host });
    context.listening.port = (tcp.address() as AddressInfo).port;
    servers.push(tcp);
  }
  if (resolved.unixSocket !== undefined) {
    await rm(resolved.unixSocket, { force: true }); // a stale socket file from a killed server
    servers.push(await listen(createServer({ allowHalfOpen: true }, accept), { path: resolved.unixSocket }));
  }
  return {
    address: () => servers[0].address() as AddressInfo | string,
    get clients() {
      return connections.size;
    },
    close: () => {
      context.keyspaceEvents.stop();
      return closeAll(servers, connections);
    },
  };
}

function digest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function listen(server: Server, where: { port: number; host: string } | { path: string }): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new DurableKVError('ERR_LISTEN', `cannot listen on ${JSON.stringify(where)}: ${error.message}`, { cause: error })),
    );
    server.listen(where, () => resolve(server));
  });
}

async function closeAll(servers: Server[], connections: Map<Socket, Connection>): Promise<void> {
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  await Promise.all([...connections.values()].map((connection) => connection.finish()));
  await Promise.all(closed);
}
