import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { DurableKVError, NotLeaderError, ReplicationFailedError } from '../errors.js';
import { type DurableKVStore, type ReplicationHook, replicationHook } from '../store.js';
import { catchUp, divergence } from './lineage.js';
import { epochHeader, epochMsgId, instanceHeader, kindHeader, lastSeqHeader, leaderHeader, streamName, subjectOf } from './names.js';
import { connectionOptions, type ReplicateOptions, type ResolvedReplicateOptions, resolveReplicateOptions } from './options.js';
import { readRole, writeRole } from './role-file.js';
import { type AckMode, isWrongLastSequence, Shipper } from './shipper.js';
import { ensureStream, readStreamMessage, resumePoint, type StreamTail, streamTail } from './stream.js';
import { type ShelvedSnapshot, SnapshotShelf } from './snapshot-shelf.js';
import { snapshotName } from '../format/file-names.js';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { replicationHeaderBytesMax, replicationRetryDelayMsMin } from '../limits.js';
import { replicationFrameHeaderBytes } from '../format/replication-frame.js';

/** Tries at an epoch marker whose publish got no answer, before giving up on leading this time. */
const markerAttemptsMax = 5;

/** What `Replicator.stats()` returns. */
export interface LeaderStats {
  role: 'leader';
  group: string;
  name: string;
  epoch: number;
  ack: AckMode;
  /** Last record committed here, and the last one the stream holds. */
  committedSeq: number;
  shippedSeq: number;
  /** Committed records not yet in the stream. */
  lagRecords: number;
  /** Stream seq of the last message this leader published (or its epoch marker). */
  streamSeq: number;
  /** Messages published (each one or more records). */
  shipments: number;
  /** Set once the stream refused this leader, or shipping failed. */
  failure: Error | undefined;
}

export interface ReplicatorEvents {
  /** The stream refused this leader: a newer one took over. Writes are refused with this error from now on. */
  fenced: (error: NotLeaderError) => void;
  /** A snapshot was put on the group's shelf (and the stream purged below what the shelf needs). */
  shelved: (snapshot: ShelvedSnapshot) => void;
  /** Something failed that replication works around (a snapshot not shelved); for logs. */
  warning: (error: Error) => void;
  /** Shipping ended for good (fenced, a record too large for a message, stopped): this node no longer leads. */
  failed: (error: Error) => void;
}

/** What a leader holds, made by `takeTheLead`. */
interface Leadership {
  options: ResolvedReplicateOptions;
  store: DurableKVStore<unknown>;
  hook: ReplicationHook;
  connection: NatsConnection;
  jsm: JetStreamManager;
  shipper: Shipper;
  shelf: SnapshotShelf;
  epoch: number;
  /** The record seq this leader started from, and its epoch marker's stream seq. */
  fromSeq: number;
  markerSeq: number;
}

/** Snapshots kept on the shelf: the newest, and one before it in case the newest is damaged. */
const snapshotsKept = 2;

/** The leader's side of a replication group (see `replicate`). */
export class Replicator extends EventEmitter<ReplicatorEvents> {
  readonly group: string;
  readonly epoch: number;
  readonly #options: ResolvedReplicateOptions;
  readonly #hook: ReplicationHook;
  readonly #connection: NatsConnection;
  readonly #shipper: Shipper;
  readonly #leadership: Leadership;
  #stopped: Promise<void> | undefined;
  #shelving: Promise<ShelvedSnapshot> | undefined;
  readonly #onSnapshot = () => {
    this.shelveSnapshot().catch((error: Error) => this.emit('warning', error));
  };

  /** @internal */
  constructor(leadership: Leadership) {
    super();
    this.#leadership = leadership;
    this.group = leadership.options.group;
    this.epoch = leadership.epoch;
    this.#options = leadership.options;
    this.#hook = leadership.hook;
    this.#connection = leadership.connection;
    this.#shipper = leadership.shipper;
    // Each local snapshot goes on the shelf, so the stream can be purged behind it.
    leadership.store.on('snapshot', this.#onSnapshot);
  }

  /**
   * Puts a snapshot of the store on the group's shelf (a JetStream Object Store), named by the
   * stream seq it covers, once the stream holds every record in it; keeps the two newest, and purges
   * the stream below what the older one needs. One at a time: a call while one runs gets that one.
   */
  shelveSnapshot(): Promise<ShelvedSnapshot> {
    this.#shelving ??= this.#shelve().finally(() => {
      this.#shelving = undefined;
    });
    return this.#shelving;
  }

  async #shelve(): Promise<ShelvedSnapshot> {
    const { store, hook, jsm, shipper, shelf, fromSeq, markerSeq, options } = this.#leadership;
    // Beside the store (its disk, sized for it), not in a tmpfs.
    const dir = await mkdtemp(path.join(path.dirname(hook.dir), `.dkv-shelf-${options.group}-`));
    try {
      const backup = await store.backup(dir);
      await shipper.shippedThrough(backup.seq);
      const tail = await streamTail(jsm, options.group);
      const streamSeq = backup.seq <= fromSeq ? markerSeq : await resumePoint(jsm, options.group, backup.seq - 1, tail);
      if (streamSeq === undefined) throw new ReplicationFailedError(`the stream no longer holds record ${backup.seq}`);
      const shelved = await shelf.put(hook.fs, path.join(dir, snapshotName(backup.seq)), backup.seq, tail.created, streamSeq);
      const oldest = await shelf.prune(snapshotsKept, tail.created);
      if (oldest !== undefined) await jsm.streams.purge(streamName(options.group), { seq: oldest.streamSeq });
      this.emit('shelved', shelved);
      return shelved;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  stats(): LeaderStats {
    const shipper = this.#shipper;
    const { group, name, ack } = this.#options;
    return {
      role: 'leader',
      group,
      name,
      epoch: this.epoch,
      ack,
      committedSeq: shipper.committedSeq,
      shippedSeq: shipper.shippedSeq,
      lagRecords: shipper.committedSeq - shipper.shippedSeq,
      streamSeq: shipper.streamSeq,
      shipments: shipper.shipments,
      failure: shipper.failure,
    };
  }

  /** Resolves once every record committed so far is in the stream (or shipping failed). */
  drained(): Promise<void> {
    return this.#shipper.drained();
  }

  /**
   * Stops leading: new writes are refused (ERR_NOT_LEADER), what was committed is shipped first (for
   * at most `drainTimeoutMs`, default 10 s: NATS may be unreachable), writes still waiting for the
   * stream then are rejected (ERR_REPLICATION_FAILED, or `reason`: a node that lost the lead says
   * ERR_NOT_LEADER), and the NATS connection is closed. The store
   * stays open. Stop replication before closing the store: a close waits for held acknowledgements.
   */
  stop({ drainTimeoutMs = 10_000, reason }: { drainTimeoutMs?: number; reason?: NotLeaderError } = {}): Promise<void> {
    this.#stopped ??= (async () => {
      const refusal = reason ?? new NotLeaderError(`replication of group ${this.group} stopped on this node`);
      this.#hook.refuseWrites(refusal);
      this.#leadership.store.off('snapshot', this.#onSnapshot);
      // The shipper first: a shelving waiting for the stream to hold its records then fails at once.
      await this.#shipper.stop(drainTimeoutMs, reason);
      await this.#shelving?.catch(() => undefined);
      await this.#hook.barrier().catch(() => undefined); // what was held is settled now: nothing waits on NATS
      this.#hook.setCommitGate(undefined);
      this.#hook.limitRecordBytes(undefined);
      await this.#connection.close();
    })();
    return this.#stopped;
  }

  /** @internal */
  fenced(error: NotLeaderError): void {
    this.#hook.refuseWrites(error);
    this.emit('fenced', error);
  }
}

/**
 * Makes `store` its group's leader: catches up with the stream, publishes a new epoch marker
 * (fenced on the stream's last message, so two nodes cannot both take the lead), then ships every
 * committed write to the stream. Refuses (ERR_NOT_LEADER) when another node published meanwhile,
 * and (ERR_REPLICATION_FAILED) when the store holds records the group's log lacks: `follow` rebuilds it.
 */
export async function replicate<V>(store: DurableKVStore<V>, options: ReplicateOptions): Promise<Replicator> {
  const resolved = resolveReplicateOptions(options);
  const hook = replicationHook(store as DurableKVStore<unknown>);
  hook.refuseWrites(new NotLeaderError(`taking the lead of group ${resolved.group}`));
  const connection = await connect(connectionOptions(resolved)).catch((error: unknown) => {
    hook.refuseWrites(undefined);
    throw new ReplicationFailedError(`cannot reach NATS at ${resolved.servers.join(', ')}: ${(error as Error).message}`, { cause: error });
  });
  try {
    return await takeTheLead(resolved, store as DurableKVStore<unknown>, hook, connection);
  } catch (error) {
    hook.setCommitGate(undefined);
    hook.limitRecordBytes(undefined);
    // A node that could not lead refuses writes: it is not the group's leader.
    hook.refuseWrites(
      error instanceof NotLeaderError
        ? error
        : new NotLeaderError(`not the leader of group ${resolved.group}`, undefined, { cause: error }),
    );
    await connection.close().catch(() => undefined);
    // NATS's own errors (a request timing out on a loaded cluster) become ours, with a code.
    if (error instanceof DurableKVError) throw error;
    throw new ReplicationFailedError(`taking the lead of group ${resolved.group} failed: ${(error as Error).message}`, { cause: error });
  }
}

async function takeTheLead(
  options: ResolvedReplicateOptions,
  store: DurableKVStore<unknown>,
  hook: ReplicationHook,
  connection: NatsConnection,
): Promise<Replicator> {
  const { group } = options;
  const jsm = await jetstreamManager(connection);
  await ensureStream(jsm, group, options.streamReplicas);
  await hook.barrier(); // writes made before the refusal are committed: the store's last seq stands
  let tail = await streamTail(jsm, group);
  const role = await readRole(hook.fs, hook.dir);
  const diverged = tail.streamSeq === 0 ? undefined : await divergence(jsm, group, role, hook.lastSeq, tail);
  if (diverged !== undefined) {
    throw new ReplicationFailedError(`this store cannot lead group ${group}: ${diverged}; follow() rebuilds it from the group's log`);
  }
  await catchUp(hook, jsm, group, tail);
  const epoch = tail.epoch + 1;
  const fromSeq = hook.lastSeq;
  await writeRole(hook.fs, hook.dir, { role: 'leader', group, epoch, fromSeq });
  const markerSeq = await publishMarker(connection, jsm, options, tail, epoch, fromSeq);
  tail = { ...tail, streamSeq: markerSeq, recordSeq: fromSeq, epoch, leader: options.name };
  let replicator: Replicator | undefined;
  const payloadBytesMax = connection.info?.max_payload ?? 1024 * 1024;
  const shipper = new Shipper({
    js: jetstream(connection),
    jsm,
    group,
    epoch,
    streamSeq: tail.streamSeq,
    shippedSeq: fromSeq,
    ack: options.ack,
    maxLagRecords: options.maxLagRecords,
    payloadBytesMax,
    publishTimeoutMs: options.publishTimeoutMs,
    onFenced: (error) => replicator?.fenced(error),
    onFailed: (error) => replicator?.emit('failed', error),
  });
  const shelf = await SnapshotShelf.open(connection, group, options.streamReplicas);
  replicator = new Replicator({ options, store, hook, connection, jsm, shipper, shelf, epoch, fromSeq, markerSeq });
  hook.setCommitGate(shipper.gate);
  // Each record travels in one message: a larger write is refused up front, with nothing written.
  hook.limitRecordBytes(payloadBytesMax - replicationHeaderBytesMax - replicationFrameHeaderBytes);
  // Records the stream lacks from the start (a group started from a store with data, or purged)
  // need a snapshot on the shelf before a new follower can join: one is shelved if there is none.
  if (fromSeq > 0 && (await resumePoint(jsm, group, 0, tail)) === undefined && (await shelf.newest(tail.created)) === undefined) {
    await replicator.shelveSnapshot().catch((error: Error) => replicator?.emit('warning', error));
  }
  hook.refuseWrites(undefined);
  return replicator;
}

/** Publishes the epoch marker expecting the stream to end where we caught up: the one step that makes a leader. */
async function publishMarker(
  connection: NatsConnection,
  jsm: JetStreamManager,
  options: ResolvedReplicateOptions,
  tail: StreamTail,
  epoch: number,
  lastSeq: number,
): Promise<number> {
  const { group, name, instance } = options;
  const headers = natsHeaders();
  headers.set(kindHeader, 'epoch');
  headers.set(epochHeader, String(epoch));
  headers.set(lastSeqHeader, String(lastSeq));
  headers.set(leaderHeader, name);
  headers.set(instanceHeader, instance);
  const payload = JSON.stringify({ leader: name, epoch, lastSeq });
  // The Msg-Id names this node: a retry of our own marker is a duplicate, another node's is not.
  const publishOptions = {
    msgID: epochMsgId(group, epoch, instance),
    expect: { lastSequence: tail.streamSeq },
    headers,
    timeout: options.publishTimeoutMs,
  };
  let unknown: unknown;
  for (let attempt = 0; attempt < markerAttemptsMax; attempt++) {
    try {
      return (await jetstream(connection).publish(subjectOf(group), payload, publishOptions)).seq;
    } catch (error) {
      if (!isWrongLastSequence(error)) {
        unknown = error; // no answer: ask again, the same marker
        await new Promise((resolve) => setTimeout(resolve, replicationRetryDelayMsMin * 2 ** attempt));
        continue;
      }
      const next = await readStreamMessage(jsm, group, tail.streamSeq + 1).catch(() => undefined);
      if (next?.kind === 'epoch' && next.epoch === epoch && next.instance === instance) return next.streamSeq; // ours landed
      const now = await streamTail(jsm, group).catch(() => undefined);
      const leader = now !== undefined && now.leader !== '' ? now.leader : undefined;
      throw new NotLeaderError(
        `another node took the lead of group ${group} first${leader === undefined ? '' : ` (${leader})`} (stream ${streamName(group)})`,
        leader,
        { cause: error },
      );
    }
  }
  throw new ReplicationFailedError(`the epoch marker of group ${group} got no answer in ${markerAttemptsMax} tries`, { cause: unknown });
}
