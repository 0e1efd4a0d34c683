import { SnapshotShelf } from './snapshot-shelf.js';
import { openFollowerStore, type RebuiltFrom } from './follower-store.js';
import { DeliverPolicy, type JetStreamManager, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { NotLeaderError, ReplicationFailedError } from '../errors.js';
import { type DurableKVStore, type ReplicationHook, replicationHook, type ValueFor } from '../store.js';
import type { StoreOptions } from '../options.js';
import {
  replicationConsumerStallMs,
  replicationFramesInFlightMax,
  replicationRecordsInFlightMax,
  replicationRetryDelayMsMax,
  replicationRetryDelayMsMin,
} from '../limits.js';
import { type LogMessage, readLogMessage } from './log-message.js';
import { streamName } from './names.js';
import { connectionOptions, type GroupOptions, type ReplicateOptions, type ResolvedGroupOptions, resolveGroupOptions } from './options.js';
import { ensureStream, resumePoint, streamTail } from './stream.js';
import { type Replicator, replicate } from './replicate.js';

export interface FollowOptions<O extends StoreOptions = StoreOptions> extends GroupOptions {
  /** Options of the local store (`DurableKVStore.open`); its valueEncoding must be the leader's. */
  store?: O;
  /** Replicas of the stream when this call creates it (default 3). */
  streamReplicas?: number;
}

/** What `Follower.stats()` returns. */
export interface FollowerStats {
  role: 'follower';
  group: string;
  /** Last record applied here (durable in the local store). */
  appliedSeq: number;
  /** Newest record seq seen in the stream (applied or on its way). */
  seenSeq: number;
  /** Records seen and not yet applied, plus the messages the stream still holds beyond the last one received. */
  lagRecords: number;
  lagMessages: number;
  /** How long the last applied message took from the stream to this store (ms). */
  lagMs: number;
  epoch: number;
  /** The leader's name as its epoch marker gave it ('' until one is seen). */
  leader: string;
  /** Messages from an epoch older than the newest marker seen: never applied. */
  staleMessages: number;
  /** Consumers started again after NATS trouble ended or stalled one. */
  consumerRestarts: number;
}

export interface FollowerEvents {
  /** Following stopped for good (a damaged message, a gap in the log): the store stays readable. */
  error: (error: ReplicationFailedError) => void;
  /** A record was applied (at most one event per message). */
  applied: (seq: number) => void;
}

/**
 * A read-only replica of a group: its own local store, kept up to date from the stream. Reads
 * (`store.get`, ranges, `changes()`) work as on any store; writes are refused with ERR_NOT_LEADER.
 */
export class Follower<V = string> extends EventEmitter<FollowerEvents> {
  readonly store: DurableKVStore<V>;
  /** Where a store that had diverged from the group's log was moved before this one was rebuilt. */
  readonly rebuiltFrom: RebuiltFrom;
  readonly #options: ResolvedGroupOptions;
  readonly #hook: ReplicationHook;
  readonly #connection: NatsConnection;
  readonly #jsm: JetStreamManager;
  #messages: ConsumerMessages | undefined;
  #running: Promise<void> | undefined;
  /** Stream seq of the next message to handle, and when the consumer last delivered one. */
  #nextStreamSeq = 1;
  #lastMessageAtMs = 0;
  #queuedSeq: number;
  #appliedSeq: number;
  #seenSeq: number;
  #lagMessages = 0;
  #lagMs = 0;
  #epoch = 0;
  #leader = '';
  #staleMessages = 0;
  #consumerRestarts = 0;
  #inFlight: Array<Promise<void>> = [];
  #inFlightRecords = 0;
  #failure: ReplicationFailedError | undefined;
  #stopping = false;

  /** @internal */
  constructor(
    store: DurableKVStore<V>,
    options: ResolvedGroupOptions,
    connection: NatsConnection,
    jsm: JetStreamManager,
    rebuiltFrom: RebuiltFrom,
  ) {
    super();
    this.store = store;
    this.rebuiltFrom = rebuiltFrom;
    this.#options = options;
    this.#hook = replicationHook(store as DurableKVStore<unknown>);
    this.#connection = connection;
    this.#jsm = jsm;
    this.#queuedSeq = this.#hook.lastSeq;
    this.#appliedSeq = this.#queuedSeq;
    this.#seenSeq = this.#queuedSeq;
  }

  stats(): FollowerStats {
    return {
      role: 'follower',
      group: this.#options.group,
      appliedSeq: this.#appliedSeq,
      seenSeq: this.#seenSeq,
      lagRecords: this.#seenSeq - this.#appliedSeq,
      lagMessages: this.#lagMessages,
      lagMs: this.#lagMs,
      epoch: this.#epoch,
      leader: this.#leader,
      staleMessages: this.#staleMessages,
      consumerRestarts: this.#consumerRestarts,
    };
  }

  get failure(): ReplicationFailedError | undefined {
    return this.#failure;
  }

  /** Resolves once this follower has applied every record up to `seq` (rejects if following failed). */
  async caughtUpTo(seq: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#appliedSeq < seq) {
      if (this.#failure !== undefined) throw this.#failure;
      if (Date.now() > deadline)
        throw new ReplicationFailedError(`follower at record ${this.#appliedSeq}, not ${seq}, after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 50);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.off('applied', done);
          resolve();
        }
        this.on('applied', done);
      });
    }
  }

  /** @internal Starts consuming the stream after the store's last record. */
  async start(): Promise<void> {
    const { group } = this.#options;
    const tail = await streamTail(this.#jsm, group);
    // The leader to name now; the epoch filter takes epochs in stream order, from the resume point on.
    this.#leader = tail.leader;
    this.#refuse();
    const from = await resumePoint(this.#jsm, group, this.#hook.lastSeq, tail);
    if (from === undefined) {
      throw new ReplicationFailedError(`the stream of group ${group} no longer holds the records after ${this.#hook.lastSeq}`);
    }
    this.#nextStreamSeq = from;
    this.#running = this.#run();
  }

  /**
   * Consumes the stream from `#nextStreamSeq` with an ordered consumer, and starts a new one from
   * where it got to whenever NATS trouble ends or stalls the old one (a server killed, the consumer
   * lost): the log is applied exactly once, in order, whatever the connection does. Only damage or
   * a gap in the log itself ends following.
   */
  async #run(): Promise<void> {
    const watchdog = setInterval(() => void this.#unstall(), replicationConsumerStallMs / 2);
    watchdog.unref();
    try {
      for (let attempt = 0; !this.#stopping && this.#failure === undefined; attempt++) {
        try {
          await this.#consumeFrom(this.#nextStreamSeq, () => (attempt = 0));
        } catch (error) {
          if (error instanceof ReplicationFailedError) throw error;
          // NATS trouble: a new consumer from where this one got to, after a pause.
        }
        if (this.#stopping || this.#failure !== undefined) break;
        this.#consumerRestarts++;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(replicationRetryDelayMsMax, replicationRetryDelayMsMin * 2 ** attempt)),
        );
      }
      await Promise.all(this.#inFlight);
    } catch (error) {
      if (!this.#stopping) this.#fail(error);
    } finally {
      clearInterval(watchdog);
    }
  }

  async #consumeFrom(streamSeq: number, onMessage: () => void): Promise<void> {
    const consumer = await jetstream(this.#connection).consumers.get(streamName(this.#options.group), {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: streamSeq,
    });
    const messages = await consumer.consume();
    this.#messages = messages;
    this.#lastMessageAtMs = Date.now();
    if (this.#stopping) messages.stop();
    for await (const message of messages) {
      onMessage();
      this.#lastMessageAtMs = Date.now();
      if (message.seq < this.#nextStreamSeq) continue; // delivered again by a new consumer
      const read = readLogMessage(message.seq, message.headers, message.data, message.info.timestampNanos / 1e6);
      if ('invalid' in read) throw new ReplicationFailedError(read.invalid);
      this.#lagMessages = message.info.pending;
      this.#nextStreamSeq = message.seq + 1;
      await this.#handle(read);
    }
  }

  /** Ends a consumer that gets nothing while the stream holds messages it has not delivered. */
  async #unstall(): Promise<void> {
    if (Date.now() - this.#lastMessageAtMs < replicationConsumerStallMs) return;
    const info = await this.#jsm.streams.info(streamName(this.#options.group)).catch(() => undefined);
    if (info !== undefined && info.state.last_seq >= this.#nextStreamSeq) {
      this.#lastMessageAtMs = Date.now();
      this.#messages?.stop();
    }
  }

  async #handle(message: LogMessage): Promise<void> {
    if (message.kind === 'epoch') {
      if (message.lastSeq > this.#queuedSeq) throw this.#gap(message.streamSeq, message.lastSeq);
      if (message.epoch > this.#epoch) {
        this.#epoch = message.epoch;
        this.#leader = message.leader;
        this.#refuse();
      }
      return;
    }
    if (message.epoch < this.#epoch) {
      this.#staleMessages++; // a message a fenced leader got in: never the case while the fence holds
      return;
    }
    this.#epoch = message.epoch;
    this.#seenSeq = Math.max(this.#seenSeq, message.lastSeq);
    if (message.lastSeq <= this.#queuedSeq) return; // already here (a resume overlaps)
    // A frame may start at or below the store's last record (a crash kept part of it): applyFrame skips those.
    if (message.firstSeq > this.#queuedSeq + 1) throw this.#gap(message.streamSeq, message.firstSeq - 1);
    const records = message.lastSeq - this.#queuedSeq;
    this.#queuedSeq = message.lastSeq;
    const { lastSeq, timestampMs } = message;
    const applied = this.#hook.applyFrame(message.data).then(
      () => {
        this.#appliedSeq = lastSeq;
        this.#lagMs = Math.max(0, Date.now() - timestampMs);
        this.#inFlight.shift();
        this.#inFlightRecords -= records;
        this.emit('applied', lastSeq);
      },
      (error: unknown) => this.#fail(error),
    );
    this.#inFlight.push(applied);
    this.#inFlightRecords += records;
    while (this.#inFlight.length >= replicationFramesInFlightMax || this.#inFlightRecords > replicationRecordsInFlightMax) {
      await this.#inFlight[0];
      if (this.#failure !== undefined) break;
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  #gap(streamSeq: number, expectedAfterSeq: number): ReplicationFailedError {
    return new ReplicationFailedError(
      `gap in the log of group ${this.#options.group} at stream message ${streamSeq}: it follows record ${expectedAfterSeq}, this store has ${this.#queuedSeq}`,
    );
  }

  #refuse(): void {
    const leader = this.#leader === '' ? undefined : this.#leader;
    this.#hook.refuseWrites(
      new NotLeaderError(
        `this node follows group ${this.#options.group}; write to its leader${leader === undefined ? '' : ` (${leader})`}`,
        leader,
      ),
    );
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure =
      error instanceof ReplicationFailedError
        ? error
        : new ReplicationFailedError(`following stopped: ${(error as Error).message}`, { cause: error });
    this.#messages?.stop();
    this.emit('error', this.#failure);
  }

  /** Stops following (what was received is applied first); the store stays open. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#messages?.stop();
    await this.#running;
    await Promise.all(this.#inFlight).catch(() => undefined);
    await this.#connection.close().catch(() => undefined);
  }

  /** Stops following and closes the store. */
  async close(): Promise<void> {
    await this.stop();
    await this.store.close();
  }

  /**
   * Makes this node the group's leader (see `replicate`): stops following, catches up with the
   * stream, publishes its epoch marker. On ERR_NOT_LEADER (another node was first) follow again.
   */
  async promote(options: Omit<ReplicateOptions, 'servers' | 'group'> = {}): Promise<Replicator> {
    await this.stop();
    const { servers, group, name } = this.#options;
    return replicate(this.store, { name, ...options, servers, group });
  }
}

/**
 * Opens (creating if missing) the store in `dir` as a follower of `group`: it applies the group's
 * log from the stream, in order, and serves reads. A store whose records are not a prefix of the
 * group's log (a leader's tail that never reached the stream, or refused by the fence) is moved
 * aside to `<dir>.diverged-<time>` and rebuilt from the log (`rebuiltFrom` says so).
 */
export async function follow<O extends StoreOptions = StoreOptions>(
  dir: string,
  options: FollowOptions<O>,
): Promise<Follower<ValueFor<O>>> {
  const resolved = resolveGroupOptions(options);
  const connection = await connect(connectionOptions(resolved)).catch((error: unknown) => {
    throw new ReplicationFailedError(`cannot reach NATS at ${resolved.servers.join(', ')}: ${(error as Error).message}`, { cause: error });
  });
  let store: DurableKVStore<ValueFor<O>> | undefined;
  try {
    const jsm = await jetstreamManager(connection);
    await ensureStream(jsm, resolved.group, options.streamReplicas ?? 3);
    const shelf = await SnapshotShelf.open(connection, resolved.group, options.streamReplicas ?? 3);
    const opened = await openFollowerStore<O>(dir, options.store, resolved, jsm, shelf);
    store = opened.store;
    const follower = new Follower(store, resolved, connection, jsm, opened.rebuiltFrom);
    await follower.start();
    return follower;
  } catch (error) {
    await store?.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    throw error;
  }
}
