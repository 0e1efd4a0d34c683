import os from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { replicationLagRecordsMaxDefault, replicationPublishTimeoutMsDefault } from '../limits.js';
import type { AckMode } from './shipper.js';
import { checkGroup, newInstanceId } from './names.js';

/** Where the group's log is, shared by `replicate` and `follow`. */
export interface GroupOptions {
  /** NATS server URLs ('nats://host:port'), one or several of the cluster. */
  servers: string | string[];
  /** The replication group: one stream, one leader, any number of followers. */
  group: string;
  /** This node's name, shown to clients refused by a follower (default host:pid). */
  name?: string;
}

export interface ReplicateOptions extends GroupOptions {
  /**
   * 'replicated' (the default): a write resolves once it is durable here and the stream holds it
   * (a majority of NATS servers). 'local': once durable here; shipped in the background, at most
   * `maxLagRecords` acknowledged records behind.
   */
  ack?: AckMode;
  /** With ack 'local': acknowledged records not yet in the stream before writers wait (default 1,000). */
  maxLagRecords?: number;
  /** Replicas of the stream when this call creates it (default 3; 1 for a single NATS server). */
  streamReplicas?: number;
  /** A publish with no answer in this long is asked again (default 5,000 ms). */
  publishTimeoutMs?: number;
}

export interface ResolvedGroupOptions {
  servers: string[];
  group: string;
  name: string;
  /** This run of the node (see `newInstanceId`). */
  instance: string;
}

export interface ResolvedReplicateOptions extends ResolvedGroupOptions {
  ack: AckMode;
  maxLagRecords: number;
  streamReplicas: number;
  publishTimeoutMs: number;
}

export function resolveGroupOptions(options: GroupOptions): ResolvedGroupOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object with servers and group');
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((url) => typeof url === 'string' && url.length > 0)) {
    throw new InvalidArgumentError(`servers must be a NATS URL or a non-empty list of them, got ${JSON.stringify(options.servers)}`);
  }
  const name = options.name ?? `${os.hostname()}:${process.pid}`;
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || /[\r\n]/.test(name)) {
    throw new InvalidArgumentError(`name must be a non-empty single-line string, got ${JSON.stringify(options.name)}`);
  }
  const instance = (options as { instance?: string }).instance ?? newInstanceId();
  return { servers, group: checkGroup(options.group), name, instance };
}

export function resolveReplicateOptions(options: ReplicateOptions): ResolvedReplicateOptions {
  const group = resolveGroupOptions(options);
  const ack = options.ack ?? 'replicated';
  if (ack !== 'local' && ack !== 'replicated')
    throw new InvalidArgumentError(`ack must be 'local' or 'replicated', got ${JSON.stringify(ack)}`);
  return {
    ...group,
    ack,
    maxLagRecords: integer('maxLagRecords', options.maxLagRecords, replicationLagRecordsMaxDefault, 0),
    streamReplicas: integer('streamReplicas', options.streamReplicas, 3, 1, 5),
    publishTimeoutMs: integer('publishTimeoutMs', options.publishTimeoutMs, replicationPublishTimeoutMsDefault, 1),
  };
}

function integer(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/**
 * How a node connects to NATS: reconnecting without end (the library's default gives up after 10
 * tries, 20 s, and a closed connection would stall replication for good), to any server it learns of.
 */
export function connectionOptions(options: ResolvedGroupOptions): { servers: string[]; name: string; maxReconnectAttempts: number } {
  return { servers: options.servers, name: options.name, maxReconnectAttempts: -1 };
}
