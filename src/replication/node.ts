import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError, NotLeaderError } from '../errors.js';
import type { StoreOptions } from '../options.js';
import type { DurableKVStore, ValueFor } from '../store.js';
import { type Follower, type FollowerStats, follow } from './follower.js';
import { Lease } from './lease.js';
import { connectionOptions, type ReplicateOptions, resolveReplicateOptions } from './options.js';
import type { LeaderStats, Replicator } from './replicate.js';

export interface ReplicaNodeOptions<O extends StoreOptions = StoreOptions> extends ReplicateOptions {
  /** Options of the local store (`DurableKVStore.open`). */
  store?: O;
  /** How long a lease outlives its holder's last renewal (default 5,000 ms): failover takes about this plus a promotion. */
  leaseTtlMs?: number;
}

export type NodeRole = 'follower' | 'leader' | 'closed';

type NodeSettings = ReplicaNodeOptions<StoreOptions> & { name: string; leaseTtlMs: number };

export interface ReplicaNodeEvents<V> {
  /** The node became a follower or the leader; `store` is the one it serves now (it changes when a store is rebuilt). */
  role: (role: NodeRole, store: DurableKVStore<V>) => void;
  /** Something went wrong that the node works around (it keeps trying); for logs. */
  warning: (error: Error) => void;
}

export type ReplicaNodeStats = { name: string; leaseHolder: string | undefined } & (LeaderStats | FollowerStats | { role: 'closed' });

/**
 * A node of a replication group that leads or follows as elected: it follows, and when nobody
 * holds the group's lease it takes it and promotes itself; as leader it renews the lease, and steps
 * down (rebuilding its store from the group's log if a newer leader fenced it) when it loses the
 * lease or the stream refuses it. Correctness never depends on the lease's timing: the fence does.
 */
export class ReplicaNode<V = string> extends EventEmitter<ReplicaNodeEvents<V>> {
  readonly #dir: string;
  readonly #options: NodeSettings;
  readonly #connection: NatsConnection;
  readonly #lease: Lease;
  #follower: Follower<V> | undefined;
  #replicator: Replicator | undefined;
  #store: DurableKVStore<V> | undefined;
  #leaseRevision: number | undefined;
  #leaseHolder: string | undefined;
  #role: NodeRole = 'follower';
  #closing = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** One role change at a time (a promotion, a step-down). */
  #changing: Promise<void> = Promise.resolve();

  /** @internal */
  constructor(dir: string, options: NodeSettings, connection: NatsConnection, lease: Lease) {
    super();
    this.#dir = dir;
    this.#options = options;
    this.#connection = connection;
    this.#lease = lease;
  }

  get role(): NodeRole {
    return this.#role;
  }

  /** The store this node serves now: read it freely; write to it on the leader. */
  get store(): DurableKVStore<V> {
    if (this.#store === undefined) throw new InvalidArgumentError('the node is closed');
    return this.#store;
  }

  stats(): ReplicaNodeStats {
    const base = { name: this.#options.name, leaseHolder: this.#leaseHolder };
    if (this.#replicator !== undefined) return { ...base, ...this.#replicator.stats() };
    if (this.#follower !== undefined) return { ...base, ...this.#follower.stats() };
    return { ...base, role: 'closed' };
  }

  /** @internal */
  async start(): Promise<void> {
    await this.#followAgain();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#closing) {
      try {
        await this.#tick();
      } catch (error) {
        this.emit('warning', error instanceof Error ? error : new Error(String(error)));
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.leaseTtlMs / 3);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async #tick(): Promise<void> {
    const { name } = this.#options;
    if (this.#role === 'leader') {
      const revision = this.#leaseRevision === undefined ? undefined : await this.#lease.renew(name, this.#leaseRevision);
      if (revision === undefined) await this.#stepDown('its lease was lost');
      else this.#leaseRevision = revision;
      return;
    }
    if (this.#follower?.failure !== undefined) {
      this.emit('warning', this.#follower.failure);
      await this.#change(() => this.#followAgain());
    }
    const holder = await this.#lease.holder();
    this.#leaseHolder = holder?.name;
    if (holder !== undefined && holder.name !== name) return;
    // Nobody leads (or a lease of ours outlived a restart): try to take the lead.
    const revision = holder === undefined ? await this.#lease.acquire(name) : await this.#lease.renew(name, holder.revision);
    if (revision !== undefined) await this.#change(() => this.#promote(revision));
  }

  #change(step: () => Promise<void>): Promise<void> {
    this.#changing = this.#changing.then(step, step);
    return this.#changing;
  }

  async #promote(revision: number): Promise<void> {
    const follower = this.#follower;
    if (follower === undefined || this.#closing) return;
    this.#leaseRevision = revision;
    this.#leaseHolder = this.#options.name;
    const { store: _store, leaseTtlMs: _ttl, servers: _servers, group: _group, ...replicateOptions } = this.#options;
    try {
      const replicator = await follower.promote(replicateOptions);
      this.#follower = undefined;
      this.#replicator = replicator;
      replicator.on('fenced', () => void this.#stepDown('a newer leader fenced it off'));
      this.#setRole('leader');
    } catch (error) {
      this.emit('warning', error instanceof Error ? error : new Error(String(error)));
      await this.#lease.release(revision);
      this.#leaseRevision = undefined;
      await this.#followAgain();
    }
  }

  /** Stops leading, and follows again (the store is rebuilt from the log if its tail is not the group's). */
  #stepDown(why: string): Promise<void> {
    return this.#change(async () => {
      const replicator = this.#replicator;
      if (replicator === undefined) return;
      this.emit('warning', new Error(`${this.#options.name} steps down: ${why}`));
      this.#replicator = undefined;
      const holder = (await this.#lease.holder().catch(() => undefined))?.name;
      const leader = holder === this.#options.name ? undefined : holder;
      const reason = new NotLeaderError(`${this.#options.name} is no longer the leader of group ${this.#options.group}: ${why}`, leader);
      await replicator.stop({ drainTimeoutMs: this.#options.leaseTtlMs, reason });
      if (this.#leaseRevision !== undefined) await this.#lease.release(this.#leaseRevision);
      this.#leaseRevision = undefined;
      await this.#followAgain();
    });
  }

  /** Closes the store (if open) and follows from the directory: the one way back to following. */
  async #followAgain(): Promise<void> {
    await this.#follower?.stop();
    await this.#store?.close().catch(() => undefined);
    this.#follower = undefined;
    this.#store = undefined;
    if (this.#closing) return;
    const { servers, group, name, streamReplicas, store } = this.#options;
    const follower = (await follow(this.#dir, { servers, group, name, streamReplicas, store })) as unknown as Follower<V>;
    this.#follower = follower;
    this.#store = follower.store;
    this.#setRole('follower');
  }

  #setRole(role: NodeRole): void {
    this.#role = role;
    if (this.#store !== undefined) this.emit('role', role, this.#store);
  }

  /** Stops leading or following (a leader ships what it committed first and gives its lease up) and closes the store. */
  async close(): Promise<void> {
    if (this.#closing) return this.#loop;
    this.#closing = true;
    this.#wake?.();
    await this.#loop;
    await this.#changing;
    if (this.#replicator !== undefined) {
      await this.#replicator.stop({ drainTimeoutMs: this.#options.leaseTtlMs });
      if (this.#leaseRevision !== undefined) await this.#lease.release(this.#leaseRevision);
    }
    await this.#follower?.stop();
    await this.#store?.close();
    this.#replicator = undefined;
    this.#follower = undefined;
    this.#role = 'closed';
    await this.#connection.close();
  }
}

/**
 * Runs a node of `group` on the store in `dir`: it follows, and leads when elected (see
 * `ReplicaNode`). Resolves once it follows (its store open and consuming the group's log).
 */
export async function runReplicaNode<O extends StoreOptions = StoreOptions>(
  dir: string,
  options: ReplicaNodeOptions<O>,
): Promise<ReplicaNode<ValueFor<O>>> {
  const resolved = resolveReplicateOptions(options);
  const leaseTtlMs = options.leaseTtlMs ?? 5_000;
  if (!Number.isSafeInteger(leaseTtlMs) || leaseTtlMs < 300)
    throw new InvalidArgumentError(`leaseTtlMs must be an integer of 300 or more, got ${leaseTtlMs}`);
  const connection = await connect(connectionOptions(resolved));
  try {
    const lease = await Lease.open(connection, resolved.group, leaseTtlMs, resolved.streamReplicas);
    const node = new ReplicaNode<ValueFor<O>>(dir, { ...options, name: resolved.name, leaseTtlMs }, connection, lease);
    await node.start();
    return node;
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}
