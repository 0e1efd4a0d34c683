/**
 * What a command is to the server: its name, Redis's arity convention, when it may run, and its
 * handler. Handlers see the store only through its public API (the layering rule).
 */
import type { Buffer } from 'node:buffer';
import type { DurableKVStore } from '../store.js';
import type { Protocol, Reply } from './reply.js';
import type { KeyspaceEvents } from './keyspace-events.js';
import type { PubSub, Subscriber } from './pubsub.js';
import type { ScanCursors } from './scan-cursors.js';
import type { CommandStore } from './transaction-view.js';

/** One client's connection state that commands read and change. */
export interface Session {
  readonly id: number;
  name: string;
  protocol: Protocol;
  authenticated: boolean;
  /** Library name and version a client reported with CLIENT SETINFO. */
  libName: string;
  libVersion: string;
  /** Set by QUIT and RESET's callers: close once this reply is written. */
  closeAfterReply: boolean;
  /** Between MULTI and EXEC/DISCARD: the commands queued (each checked for existence and arity). */
  transaction: Buffer[][] | undefined;
  /** A queued command was refused: EXEC will answer EXECABORT. */
  transactionFailed: boolean;
  /** WATCHed keys with the version each had (0: absent). */
  watched: Map<string, number>;
  /** Channels and patterns subscribed to (one character per byte). */
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  /** This connection as pub/sub delivers to it. */
  readonly subscriber: Subscriber;
}

/** What the whole server shares with commands. */
export interface ServerContext {
  readonly store: DurableKVStore<string>;
  readonly startedAtMs: number;
  readonly passwordSet: boolean;
  /** Constant-time check of a password against the configured one. */
  checkPassword(password: Buffer): boolean;
  readonly sessions: ReadonlyMap<number, Session>;
  readonly counters: { commandsProcessed: number; connectionsReceived: number; rejectedConnections: number };
  readonly listening: { port: number | undefined; unixSocket: string | undefined };
  readonly maxClients: number;
  lastSaveSeconds: number;
  readonly scanCursors: ScanCursors;
  readonly pubsub: PubSub;
  readonly keyspaceEvents: KeyspaceEvents;
  /** INFO's replication fields (see `ServeOptions.replicationInfo`). */
  readonly replicationInfo: () => Array<[string, string | number]>;
}

export interface CommandContext {
  readonly server: ServerContext;
  readonly session: Session;
  /** What commands read and write: the store, or inside EXEC the transaction's view of it. */
  readonly store: CommandStore;
}

export type CommandKind = 'blind' | 'reads' | 'connection';

/**
 * A handler returns its reply, or throws / rejects: a `ReplyError` with Redis's text, or the store's
 * own error, which the connection (and EXEC, per queued command) turns into Redis's reply in one
 * place (`replyErrorFor`), so handlers do not wrap their store calls.
 */
export type CommandHandler = (context: CommandContext, args: Buffer[]) => Reply | Promise<Reply>;

export interface Command {
  /** Lower case, as Redis names commands in its replies. */
  readonly name: string;
  /** Redis's convention: n ≥ 0 exactly n words with the name; −n at least n. */
  readonly arity: number;
  /**
   * 'blind': writes without reading first, so it runs at once, and writes a pipeline sends
   * together join one group commit; 'reads': waits until this connection's earlier writes are
   * applied, so it sees them (read-your-writes in request order); 'connection': touches only the
   * session.
   */
  readonly kind: CommandKind | ((args: Buffer[]) => CommandKind);
  /** Allowed before AUTH when a password is set. */
  readonly noAuth?: boolean;
  /** Key positions for COMMAND: first, last (−1: the last word), step. */
  readonly keys?: readonly [number, number, number];
  /** Flags for COMMAND's reply. */
  readonly flags: readonly string[];

  readonly run: CommandHandler;
}

/** `args` as text: command names and options are ASCII words. */
export function word(arg: Buffer): string {
  return arg.toString('latin1').toLowerCase();
}
