import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { NotLeaderError, ReplicationFailedError } from '../errors.js';
import { type DurableKVStore, type ReplicationHook, replicationHook } from '../store.js';
import { catchUp, divergence } from './lineage.js';
import { epochHeader, epochMsgId, kindHeader, lastSeqHeader, leaderHeader, streamName, subjectOf } from './names.js';
import { connectionOptions, type ReplicateOptions, type ResolvedReplicateOptions, resolveReplicateOptions } from './options.js';
import { readRole, writeRole } from './role-file.js';
import { type AckMode, isWrongLastSequence, Shipper } from './shipper.js';
import { ensureStream, readStreamMessage, type StreamTail, streamTail } from './stream.js';
import { replicationRetryDelayMsMin } from '../limits.js';

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
}

/** The leader's side of a replication group (see `replicate`). */
export class Replicator extends EventEmitter<ReplicatorEvents> {
  readonly group: string;
  readonly epoch: number;
  readonly #options: ResolvedReplicateOptions;
  readonly #hook: ReplicationHook;
  readonly #connection: NatsConnection;
  readonly #shipper: Shipper;
  #stopped: Promise<void> | undefined;

  /** @internal */
  constructor(options: ResolvedReplicateOptions, hook: ReplicationHook, connection: NatsConnection, shipper: Shipper, epoch: number) {
    super();
    this.group = options.group;
    this.epoch = epoch;
    this.#options = options;
    this.#hook = hook;
    this.#connection = connection;
    this.#shipper = shipper;
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
      await this.#shipper.stop(drainTimeoutMs, reason);
      await this.#hook.barrier().catch(() => undefined); // what was held is settled now: nothing waits on NATS
      this.#hook.setCommitGate(undefined);
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
    return await takeTheLead(resolved, hook, connection);
  } catch (error) {
    hook.setCommitGate(undefined);
    // A node that could not lead refuses writes: it is not the group's leader.
    hook.refuseWrites(
      error instanceof NotLeaderError
        ? error
        : new NotLeaderError(`not the leader of group ${resolved.group}`, undefined, { cause: error }),
    );
    await connection.close().catch(() => undefined);
    throw error;
  }
}

async function takeTheLead(options: ResolvedReplicateOptions, hook: ReplicationHook, connection: NatsConnection): Promise<Replicator> {
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
  const shipper = new Shipper({
    js: jetstream(connection),
    jsm,
    group,
    epoch,
    streamSeq: tail.streamSeq,
    shippedSeq: fromSeq,
    ack: options.ack,
    maxLagRecords: options.maxLagRecords,
    payloadBytesMax: connection.info?.max_payload ?? 1024 * 1024,
    publishTimeoutMs: options.publishTimeoutMs,
    onFenced: (error) => replicator?.fenced(error),
  });
  replicator = new Replicator(options, hook, connection, shipper, epoch);
  hook.setCommitGate(shipper.gate);
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
  const { group, name } = options;
  const headers = natsHeaders();
  headers.set(kindHeader, 'epoch');
  headers.set(epochHeader, String(epoch));
  headers.set(lastSeqHeader, String(lastSeq));
  headers.set(leaderHeader, name);
  const payload = JSON.stringify({ leader: name, epoch, lastSeq });
  // The Msg-Id names this node: a retry of our own marker is a duplicate, another node's is not.
  const publishOptions = {
    msgID: epochMsgId(group, epoch, name),
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
      if (next?.kind === 'epoch' && next.epoch === epoch && next.leader === name) return next.streamSeq; // ours landed
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
