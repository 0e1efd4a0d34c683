import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError, NotLeaderError } from '../errors.js';
import type { StoreOptions } from '../options.js';
import { DurableKVStore, replicationHook, type ValueFor } from '../store.js';
import { type Follower, type FollowerStats, follow } from './follower.js';
import { Lease } from './lease.js';
import { newInstanceId } from './names.js';
import { connectionOptions, type ReplicateOptions, resolveReplicateOptions } from './options.js';
import { type LeaderStats, type Replicator, replicate } from './replicate.js';
import { readRole } from './role-file.js';
import { ensureStream, streamTail } from './stream.js';

export interface ReplicaNodeOptions<O extends StoreOptions = StoreOptions> extends ReplicateOptions {
  /** Options of the local store (`DurableKVStore.open`). */
  store?: O;
  /** How long a lease outlives its holder's last renewal (default 5,000 ms): failover takes about this plus a promotion. */
  leaseTtlMs?: number;
}

export type NodeRole = 'follower' | 'leader' | 'closed';

export interface ReplicaNodeEvents<V> {
  /** The node became a follower or the leader; `store` is the one it serves now (it changes when a store is rebuilt). */
  role: (role: NodeRole, store: DurableKVStore<V>) => void;
  /** Something went wrong that the node works around (it keeps trying); for logs. */
  warning: (error: Error) => void;
}

export type ReplicaNodeStats = { name: string; leaseHolder: string | undefined } & (LeaderStats | FollowerStats | { role: 'closed' });

type NodeSettings = ReplicaNodeOptions<StoreOptions> & { name: string; instance: string; leaseTtlMs: number };

/** A lease not renewed this close to its end is given up: another node may take it any moment. */
const leaseMarginFraction = 0.2;

/**
 * A node of a replication group that leads or follows as elected: it follows, and when nobody
 * holds the group's lease it takes it and promotes itself; as leader it renews the lease (on its own
 * timer, so a long promotion does not starve it), and steps down — rebuilding its store from the
 * group's log if a newer leader fenced it — when it cannot renew the lease or shipping ends.
 * Correctness never depends on the lease's timing: the stream's fence does.
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
  /** performance.now() until which the held lease surely lasts. */
  #leaseValidUntilMs = 0;
  #leaseHolder: string | undefined;
  #renewing = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #role: NodeRole = 'follower';
  #closing = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** One role change at a time (a promotion, a step-down, following again). */
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
    if (this.#store === undefined)
      throw new InvalidArgumentError(this.#closing ? 'the node is closed' : 'the node is between stores: try again');
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
    if (!(await this.#leadExistingStore())) await this.#followAgain();
    this.#renewTimer = setInterval(() => void this.#renew(), this.#options.leaseTtlMs / 3);
    this.#loop = this.#run();
  }

  /**
   * A store with data that never was in a group, and a group whose stream is empty: the store
   * starts the group (its data goes on the shelf for followers), rather than being moved aside.
   */
  async #leadExistingStore(): Promise<boolean> {
    const { group, store: storeOptions, streamReplicas } = this.#options;
    const jsm = await jetstreamManager(this.#connection);
    await ensureStream(jsm, group, streamReplicas ?? 3);
    if ((await streamTail(jsm, group)).streamSeq !== 0) return false;
    const store = (await DurableKVStore.open(this.#dir, storeOptions)) as DurableKVStore<V>;
    const hook = replicationHook(store as DurableKVStore<unknown>);
    if (hook.lastSeq === 0 || (await readRole(hook.fs, hook.dir)) !== undefined) {
      await store.close();
      return false;
    }
    const revision = await this.#lease.acquire(this.#identity());
    if (revision === undefined) {
      await store.close();
      return false;
    }
    this.#holdLease(revision);
    try {
      this.#store = store;
      this.#becomeLeader(await replicate(store, this.#replicateOptions()));
      return true;
    } catch (error) {
      this.#warn(error);
      this.#store = undefined;
      await store.close().catch(() => undefined);
      await this.#giveUpLease();
      return false;
    }
  }

  async #run(): Promise<void> {
    while (!this.#closing) {
      try {
        await this.#tick();
      } catch (error) {
        this.#warn(error);
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
    if (this.#role === 'leader') return; // the renewal timer keeps the lease; shipping failures step down
    // No live follower (following failed, or a step-down could not follow yet): follow first, never lead without one.
    if (this.#follower === undefined || this.#follower.failure !== undefined) {
      if (this.#follower?.failure !== undefined) this.#warn(this.#follower.failure);
      await this.#change(() => this.#followAgain());
      return;
    }
    const holder = await this.#lease.holder();
    this.#leaseHolder = holder?.name;
    if (holder !== undefined && holder.instance !== this.#options.instance) return;
    // Nobody leads (or this run holds a lease a failed promotion kept): try to take the lead.
    const revision =
      holder === undefined ? await this.#lease.acquire(this.#identity()) : await this.#lease.renew(this.#identity(), holder.revision);
    if (typeof revision === 'number') await this.#change(() => this.#promote(revision));
  }

  #change(step: () => Promise<void>): Promise<void> {
    this.#changing = this.#changing.then(step, step);
    return this.#changing;
  }

  async #promote(revision: number): Promise<void> {
    const follower = this.#follower;
    this.#holdLease(revision);
    if (follower === undefined || this.#closing) {
      await this.#giveUpLease();
      return;
    }
    try {
      const replicator = await follower.promote(this.#replicateOptions());
      this.#follower = undefined;
      this.#becomeLeader(replicator);
    } catch (error) {
      this.#warn(error);
      await this.#giveUpLease();
      await this.#followAgain();
    }
  }

  #becomeLeader(replicator: Replicator): void {
    this.#replicator = replicator;
    this.#leaseHolder = this.#options.name;
    replicator.on('warning', (error) => this.#warn(error));
    replicator.on('failed', (error) => {
      this.#stepDown(`shipping ended: ${error.message}`).catch((stepDownError: unknown) => this.#warn(stepDownError));
    });
    this.#setRole('leader');
  }

  /** Renews a held lease; gives up the lead when it cannot before the lease may have run out. */
  async #renew(): Promise<void> {
    const revision = this.#leaseRevision;
    if (revision === undefined || this.#renewing || this.#closing) return;
    this.#renewing = true;
    try {
      const renewed = await this.#lease.renew(this.#identity(), revision);
      if (this.#leaseRevision !== revision) return; // given up meanwhile
      if (typeof renewed === 'number') {
        this.#holdLease(renewed);
        return;
      }
      const marginMs = this.#options.leaseTtlMs * leaseMarginFraction;
      if (renewed === 'lost' || performance.now() > this.#leaseValidUntilMs - marginMs) {
        this.#leaseRevision = undefined;
        await this.#stepDown(renewed === 'lost' ? 'another node holds its lease' : 'it could not renew its lease in time');
      }
    } catch (error) {
      this.#warn(error);
    } finally {
      this.#renewing = false;
    }
  }

  #holdLease(revision: number): void {
    this.#leaseRevision = revision;
    this.#leaseValidUntilMs = performance.now() + this.#options.leaseTtlMs;
  }

  async #giveUpLease(): Promise<void> {
    const revision = this.#leaseRevision;
    this.#leaseRevision = undefined;
    if (revision !== undefined) await this.#lease.release(revision);
  }

  /** Stops leading, and follows again (the store is rebuilt from the log if its tail is not the group's). */
  #stepDown(why: string): Promise<void> {
    return this.#change(async () => {
      const replicator = this.#replicator;
      if (replicator === undefined) return;
      this.#warn(new Error(`${this.#options.name} steps down: ${why}`));
      this.#replicator = undefined;
      this.#role = 'follower';
      const holder = (await this.#lease.holder().catch(() => undefined))?.name;
      const leader = holder === this.#options.name ? undefined : holder;
      const reason = new NotLeaderError(`${this.#options.name} is no longer the leader of group ${this.#options.group}: ${why}`, leader);
      await replicator.stop({ drainTimeoutMs: this.#options.leaseTtlMs, reason });
      await this.#giveUpLease();
      await this.#followAgain();
    });
  }

  /** Closes the store (if open) and follows from the directory: the one way back to following. */
  async #followAgain(): Promise<void> {
    const previous = this.#follower;
    this.#follower = undefined;
    await previous?.stop();
    await this.#store?.close().catch(() => undefined);
    this.#store = undefined;
    if (this.#closing) return;
    const { servers, group, name, streamReplicas, store, instance } = this.#options;
    const follower = (await follow(this.#dir, { servers, group, name, streamReplicas, store, instance } as Parameters<
      typeof follow
    >[1])) as unknown as Follower<V>;
    if (this.#closing) {
      await follower.close();
      return;
    }
    this.#follower = follower;
    this.#store = follower.store;
    this.#setRole('follower');
  }

  /** What `replicate` takes, with this run's instance id (so its epoch marker is this run's). */
  #replicateOptions(): ReplicateOptions {
    const { store: _store, leaseTtlMs: _ttl, ...replicateOptions } = this.#options;
    return replicateOptions;
  }

  #identity(): { name: string; instance: string } {
    return { name: this.#options.name, instance: this.#options.instance };
  }

  #setRole(role: NodeRole): void {
    this.#role = role;
    if (this.#store !== undefined) this.emit('role', role, this.#store);
  }

  #warn(error: unknown): void {
    this.emit('warning', error instanceof Error ? error : new Error(String(error)));
  }

  /** Stops leading or following (a leader ships what it committed first and gives its lease up) and closes the store. */
  async close(): Promise<void> {
    if (this.#closing) return this.#loop;
    this.#closing = true;
    clearInterval(this.#renewTimer);
    this.#wake?.();
    await this.#loop;
    await this.#changing;
    if (this.#replicator !== undefined) {
      await this.#replicator.stop({ drainTimeoutMs: this.#options.leaseTtlMs });
      await this.#giveUpLease();
    }
    await this.#follower?.stop();
    await this.#store?.close();
    this.#replicator = undefined;
    this.#follower = undefined;
    this.#store = undefined;
    this.#role = 'closed';
    await this.#connection.close();
  }
}

/**
 * Runs a node of `group` on the store in `dir`: it follows, and leads when elected (see
 * `ReplicaNode`). A store with data that never was in a group starts the group if its stream is
 * empty. Resolves once the node follows or leads.
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
    const settings: NodeSettings = { ...options, name: resolved.name, instance: newInstanceId(), leaseTtlMs };
    const node = new ReplicaNode<ValueFor<O>>(dir, settings, connection, lease);
    await node.start();
    return node;
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}
