/**
 * `serveResp`'s options, checked before anything listens: a bad one is ERR_INVALID_ARG, and an
 * address other machines can reach without a password is ERR_UNSAFE_BIND.
 */
import { isIP } from 'node:net';
import { DurableKVError, InvalidArgumentError } from '../errors.js';
import type { DurableKVStore } from '../store.js';

export interface ServeOptions {
  /** TCP port (default 6379; 0 picks a free one). Without `port`, a given `unixSocket` is the only listener. */
  port?: number;
  /** Address to bind (default 127.0.0.1). Anything but loopback needs a `password`. */
  host?: string;
  /** Path of a Unix socket to listen on as well (or alone, see `port`). */
  unixSocket?: string;
  /** Clients must AUTH with it (user `default`) before anything but AUTH, HELLO and QUIT. */
  password?: string;
  /** Connections served at once; one more is told "ERR max number of clients reached" (default 10,000). */
  maxClients?: number;
  /** Close a connection idle this long, in ms (default 0: never). */
  idleTimeoutMs?: number;
  /** Unsent reply bytes at which a client is disconnected (default 256 MB): one reply too big to hold. */
  outputBytesMax?: number;
  /** A client that leaves 1 MB of replies unread this long, in ms, is disconnected (default 60,000). */
  outputStallMs?: number;
  /**
   * INFO's "replication" section, for a store that is a replica (durable-kv/replication): called at
   * each INFO. Without it the section says what Redis says of a lone server (role:master).
   */
  replicationInfo?: () => Array<[string, string | number]>;
}

export const portDefault = 6379;
export const hostDefault = '127.0.0.1';
export const maxClientsDefault = 10_000;
export const outputBytesMaxDefault = 256 * 1024 * 1024;
/** As Redis's soft output limit for pub/sub clients (8 MB for 60 s): long enough for a slow reader, not forever. */
export const outputStallMsDefault = 60_000;
/** Unsent bytes at which a connection stops reading until its client reads (backpressure, not a cut). */
export const outputPauseBytes = 1024 * 1024;
/** Parsed commands waiting to run at which a connection stops reading. */
export const inboxCommandsMax = 1024;

export interface ResolvedServeOptions {
  port: number | undefined;
  host: string;
  unixSocket: string | undefined;
  password: string | undefined;
  maxClients: number;
  idleTimeoutMs: number;
  outputBytesMax: number;
  outputStallMs: number;
  outputPauseBytes: number;
  inboxCommandsMax: number;
  replicationInfo: (() => Array<[string, string | number]>) | undefined;
}

export function checkServeOptions(store: DurableKVStore<string>, options: ServeOptions): ResolvedServeOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('serveResp: options must be an object');
  if (store.settings.valueEncoding !== 'utf8') {
    throw new InvalidArgumentError(
      `serveResp: the store must use valueEncoding 'utf8' (Redis values are strings), not '${store.settings.valueEncoding}'`,
    );
  }
  const host = options.host ?? hostDefault;
  if (typeof host !== 'string' || (isIP(host) === 0 && host !== 'localhost'))
    throw new InvalidArgumentError(`serveResp: host must be an IP address, got ${String(host)}`);
  const password = options.password;
  if (password !== undefined && (typeof password !== 'string' || password.length === 0)) {
    throw new InvalidArgumentError('serveResp: password must be a non-empty string');
  }
  const port = options.port ?? (options.unixSocket === undefined ? portDefault : undefined);
  if (port !== undefined && !isPort(port))
    throw new InvalidArgumentError(`serveResp: port must be an integer 0–65535, got ${String(port)}`);
  if (port !== undefined && !isLoopback(host) && password === undefined) {
    throw new DurableKVError(
      'ERR_UNSAFE_BIND',
      `serveResp: refusing to listen on ${host} without a password: anyone who can reach it could read and change every key`,
    );
  }
  if (options.unixSocket !== undefined && (typeof options.unixSocket !== 'string' || options.unixSocket.length === 0)) {
    throw new InvalidArgumentError('serveResp: unixSocket must be a path');
  }
  return {
    port,
    host,
    unixSocket: options.unixSocket,
    password,
    maxClients: positive('maxClients', options.maxClients, maxClientsDefault),
    idleTimeoutMs: nonNegative('idleTimeoutMs', options.idleTimeoutMs, 0),
    outputBytesMax: positive('outputBytesMax', options.outputBytesMax, outputBytesMaxDefault),
    outputStallMs: positive('outputStallMs', options.outputStallMs, outputStallMsDefault),
    outputPauseBytes,
    inboxCommandsMax,
    replicationInfo: functionOption('replicationInfo', options.replicationInfo),
  };
}

function functionOption<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError(`serveResp: ${name} must be a function`);
  return value;
}

function isPort(port: unknown): boolean {
  return Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65_535;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new InvalidArgumentError(`serveResp: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidArgumentError(`serveResp: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}
