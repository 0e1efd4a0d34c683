import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { assert, NotLeaderError, ReplicationFailedError } from '../errors.js';
import { encodeReplicationFrame, type FrameRecord, replicationFrameBytes } from '../format/replication-frame.js';
import { replicationHeaderBytesMax, replicationRetryDelayMsMax, replicationRetryDelayMsMin } from '../limits.js';
import type { CommitGate, CommittedGroup } from '../store.js';
import { epochHeader, firstSeqHeader, kindHeader, lastSeqHeader, recordsMsgId, streamName, subjectOf } from './names.js';
import { readStreamMessage, streamTail } from './stream.js';

export type AckMode = 'local' | 'replicated';

export interface ShipperOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  group: string;
  epoch: number;
  /** Stream seq of the message the first shipment must follow (this leader's epoch marker). */
  streamSeq: number;
  /** Record seq the stream holds through: the next record shipped is one more. */
  shippedSeq: number;
  ack: AckMode;
  maxLagRecords: number;
  /** The server's max_payload: a message holds at most this, headers included. */
  payloadBytesMax: number;
  publishTimeoutMs: number;
  /** Told once when the stream refuses this leader (a newer one took over). */
  onFenced(error: NotLeaderError): void;
  /** Told once when shipping ends for good, for any reason (fenced, a record too large, stopped). */
  onFailed?(error: Error): void;
}

interface Waiter {
  /** Resolved once the stream holds every record through this seq. */
  seq: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The leader's side of the log: ships committed records to the group's stream in seq order, one
 * publish at a time (each must name the stream seq of the one before it: the fence), packing the
 * records committed meanwhile into the next message. As the store's commit gate it holds a group's
 * acknowledgement until the stream has it ('replicated'), or until no more than `maxLagRecords`
 * acknowledged records are unshipped ('local').
 */
export class Shipper {
  readonly #options: ShipperOptions;
  /** Committed records not yet in the stream, in seq order, from `#head`. */
  #records: FrameRecord[] = [];
  #head = 0;
  #committedSeq: number;
  #shippedSeq: number;
  #streamSeq: number;
  readonly #waiters: Waiter[] = [];
  #shipping: Promise<void> | undefined;
  #failure: Error | undefined;
  #stopped = false;
  #shipments = 0;
  /** A publish was refused and it is not yet known whether another leader published: hold every acknowledgement. */
  #suspect = false;

  constructor(options: ShipperOptions) {
    this.#options = options;
    this.#committedSeq = options.shippedSeq;
    this.#shippedSeq = options.shippedSeq;
    this.#streamSeq = options.streamSeq;
  }

  get shippedSeq(): number {
    return this.#shippedSeq;
  }

  get committedSeq(): number {
    return this.#committedSeq;
  }

  get streamSeq(): number {
    return this.#streamSeq;
  }

  get shipments(): number {
    return this.#shipments;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  readonly gate: CommitGate = (group: CommittedGroup) => {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    assert(group.firstSeq === this.#committedSeq + 1, 'a leader ships every committed record, in seq order');
    for (const record of group.records) this.#records.push(record);
    this.#committedSeq += group.records.length;
    const { ack, maxLagRecords } = this.#options;
    const waitForSeq = ack === 'replicated' ? this.#committedSeq : this.#committedSeq - maxLagRecords;
    // While a refusal is being looked into, even 'local' acknowledgements wait: this may be a zombie.
    const wait =
      waitForSeq <= this.#shippedSeq && !this.#suspect
        ? undefined
        : new Promise<void>((resolve, reject) => this.#waiters.push({ seq: waitForSeq, resolve, reject }));
    this.#shipping ??= this.#ship();
    return wait;
  };

  /** Resolves once the stream holds every record through `seq` (rejects if shipping fails first). */
  shippedThrough(seq: number): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (seq <= this.#shippedSeq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // Kept in seq order: `#release` stops at the first waiter the stream does not cover yet.
      const at = this.#waiters.findIndex((waiter) => waiter.seq > seq);
      this.#waiters.splice(at === -1 ? this.#waiters.length : at, 0, { seq, resolve, reject });
    });
  }

  /** Resolves once everything committed so far is in the stream (or shipping failed or stopped). */
  async drained(): Promise<void> {
    while (this.#shipping !== undefined) await this.#shipping;
  }

  /**
   * Ships what was committed (for at most `drainTimeoutMs`), then stops after the publish in flight;
   * writes still waiting for the stream are rejected with `reason`.
   */
  async stop(
    drainTimeoutMs: number,
    reason: Error = new ReplicationFailedError('replication stopped before the write was in the stream'),
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drained(), new Promise((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)))]);
    clearTimeout(timer);
    this.#stopped = true;
    while (this.#shipping !== undefined) await this.#shipping;
    this.#fail(reason);
  }

  async #ship(): Promise<void> {
    await null; // never settle synchronously: `#shipping` is assigned this promise after the call returns
    try {
      while (this.#failure === undefined && !this.#stopped && this.#head < this.#records.length) {
        const records = this.#nextFrameRecords();
        const lastSeq = records[records.length - 1].seq;
        this.#streamSeq = await this.#publish(encodeReplicationFrame(records), records[0].seq, lastSeq);
        this.#shipments++;
        this.#shippedSeq = lastSeq;
        this.#head += records.length;
        if (this.#head > 4096 && this.#head * 2 > this.#records.length) {
          this.#records = this.#records.slice(this.#head);
          this.#head = 0;
        }
        this.#release();
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#shipping = undefined;
    }
    // A group committed while the last publish settled and after the loop looked.
    if (this.#failure === undefined && !this.#stopped && this.#head < this.#records.length) this.#shipping = this.#ship();
  }

  /** The unshipped records from the head that fit one message (at least one). */
  #nextFrameRecords(): FrameRecord[] {
    const bytesMax = this.#options.payloadBytesMax - replicationHeaderBytesMax;
    const records = [this.#records[this.#head]];
    let bytes = replicationFrameBytes(records);
    if (bytes > bytesMax) {
      throw new ReplicationFailedError(
        `record ${records[0].seq} takes ${bytes} bytes, more than a stream message holds (max_payload ${this.#options.payloadBytesMax})`,
      );
    }
    for (let index = this.#head + 1; index < this.#records.length; index++) {
      const more = replicationFrameBytes([this.#records[index]]) - replicationFrameBytes([]);
      if (bytes + more > bytesMax) break;
      records.push(this.#records[index]);
      bytes += more;
    }
    return records;
  }

  /**
   * Publishes one message expecting the stream to end at `#streamSeq`; resolves its stream seq. An
   * unknown outcome (no answer, no stream leader, the connection down) is asked again with the same
   * Nats-Msg-Id and expectation: the stream answers "duplicate" if the first one landed. "Wrong last
   * sequence" means another leader published: unless the message after ours is this very one (it
   * landed, and the duplicate window has passed), this leader is fenced off.
   */
  async #publish(frame: Buffer, firstSeq: number, lastSeq: number): Promise<number> {
    const { js, jsm, group, epoch, publishTimeoutMs } = this.#options;
    const headers = natsHeaders();
    headers.set(kindHeader, 'records');
    headers.set(epochHeader, String(epoch));
    headers.set(firstSeqHeader, String(firstSeq));
    headers.set(lastSeqHeader, String(lastSeq));
    const options = {
      msgID: recordsMsgId(group, epoch, firstSeq),
      expect: { lastSequence: this.#streamSeq },
      headers,
      timeout: publishTimeoutMs,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await js.publish(subjectOf(group), frame, options);
        return ack.seq;
      } catch (error) {
        if (isWrongLastSequence(error)) {
          this.#suspect = true;
          const next = await readStreamMessage(jsm, group, this.#streamSeq + 1);
          if (next?.kind === 'records' && next.epoch === epoch && next.firstSeq === firstSeq) {
            this.#suspect = false;
            return next.streamSeq;
          }
          throw await this.#fencedError(error);
        }
        if (this.#stopped) throw new ReplicationFailedError('replication stopped with a publish outcome unknown', { cause: error });
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(replicationRetryDelayMsMax, replicationRetryDelayMsMin * 2 ** attempt)),
        );
      }
    }
  }

  async #fencedError(cause: unknown): Promise<NotLeaderError> {
    const { jsm, group, epoch } = this.#options;
    const tail = await streamTail(jsm, group).catch(() => undefined);
    const leader = tail !== undefined && tail.epoch > epoch && tail.leader !== '' ? tail.leader : undefined;
    const error = new NotLeaderError(
      `this node is no longer the leader of group ${group}: the stream ${streamName(group)} has a newer leader${leader === undefined ? '' : ` (${leader})`}`,
      leader,
      { cause },
    );
    this.#options.onFenced(error);
    return error;
  }

  /** Resolves the writers whose records the stream now holds (their seqs only grow along the list). */
  #release(): void {
    let released = 0;
    while (released < this.#waiters.length && this.#waiters[released].seq <= this.#shippedSeq) this.#waiters[released++].resolve();
    this.#waiters.splice(0, released);
  }

  #fail(error: Error): void {
    if (this.#failure === undefined) {
      this.#failure = error;
      this.#options.onFailed?.(error);
    }
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure);
  }
}

/** The stream's refusal of a publish whose expected last sequence is stale: the fence. */
export function isWrongLastSequence(error: unknown): boolean {
  const apiCode = (error as { code?: unknown }).code;
  return apiCode === 10071 || /wrong last sequence/i.test((error as Error).message ?? '');
}
