import { type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { ReplicationFailedError } from '../errors.js';
import { type LogMessage, readLogMessage } from './log-message.js';
import { streamName, subjectOf } from './names.js';

/** Where a group's stream ends: its last message and what the log holds up to there. */
export interface StreamTail {
  /** Stream seq of the last message (0: empty). */
  streamSeq: number;
  /** Stream seq of the first message still held (purged below it). */
  firstStreamSeq: number;
  /** Record seq of the last record in the stream (0: none). */
  recordSeq: number;
  /** The newest epoch in the stream (0: none yet). */
  epoch: number;
  /** The newest leader's name, from its epoch marker ('' when unknown). */
  leader: string;
  /** When the stream was created: tells this stream from an earlier one of the same name (snapshots name it). */
  created: string;
}

/** Creates the group's stream if missing (file storage, no limits); an existing one is used as it is. */
export async function ensureStream(jsm: JetStreamManager, group: string, replicas: number): Promise<void> {
  const name = streamName(group);
  const found = await jsm.streams.info(name).then(
    () => true,
    () => false,
  );
  if (found) return;
  await jsm.streams
    .add({ name, subjects: [subjectOf(group)], storage: StorageType.File, num_replicas: replicas, duplicate_window: 120_000_000_000 })
    .catch(async (error: unknown) => {
      // Two nodes starting at once: the other one created it.
      if (
        await jsm.streams.info(name).then(
          () => true,
          () => false,
        )
      )
        return;
      throw new ReplicationFailedError(`cannot create the stream ${name}: ${(error as Error).message}`, { cause: error });
    });
}

/** The message at `streamSeq`, read and checked; undefined if the stream no longer holds it. */
export async function readStreamMessage(jsm: JetStreamManager, group: string, streamSeq: number): Promise<LogMessage | undefined> {
  const stored = await jsm.streams.getMessage(streamName(group), { seq: streamSeq }).catch((error: unknown) => {
    if (/no message found/i.test((error as Error).message)) return null;
    throw error;
  });
  if (stored === null) return undefined;
  const message = readLogMessage(stored.seq, stored.header, stored.data, stored.time.getTime());
  if ('invalid' in message) throw new ReplicationFailedError(`the stream ${streamName(group)} holds a foreign message: ${message.invalid}`);
  return message;
}

/** Reads where the stream ends: its last message, and the newest epoch marker's leader. */
export async function streamTail(jsm: JetStreamManager, group: string): Promise<StreamTail> {
  const info = await jsm.streams.info(streamName(group));
  const { last_seq: streamSeq, first_seq: firstStreamSeq, messages } = info.state;
  const created = String(info.created);
  if (messages === 0) return { streamSeq, firstStreamSeq, recordSeq: 0, epoch: 0, leader: '', created };
  const last = await readStreamMessage(jsm, group, streamSeq);
  if (last === undefined) throw new ReplicationFailedError(`the stream ${streamName(group)} lost its last message ${streamSeq}`);
  return { streamSeq, firstStreamSeq, recordSeq: last.lastSeq, epoch: last.epoch, leader: await leaderOf(jsm, group, last), created };
}

/** The leader of the last message's epoch: the marker that began it, found by walking back. */
async function leaderOf(jsm: JetStreamManager, group: string, last: LogMessage): Promise<string> {
  // Markers are rare and near the end after a failover; bounded, since this only names the leader.
  for (let seq = last.streamSeq, steps = 0; seq >= 1 && steps < 64; seq--, steps++) {
    const message = seq === last.streamSeq ? last : await readStreamMessage(jsm, group, seq);
    if (message === undefined) return '';
    if (message.kind === 'epoch') return message.epoch === last.epoch ? message.leader : '';
  }
  return '';
}

/**
 * The stream seq of the first message holding a record after `recordSeq` (or of the first message
 * after the tail when there is none yet): where a replica at `recordSeq` resumes. Binary search,
 * since record seqs only grow along the stream (every message is fenced on the one before it).
 * Undefined when the stream no longer holds what comes right after `recordSeq` (purged).
 */
export async function resumePoint(jsm: JetStreamManager, group: string, recordSeq: number, tail: StreamTail): Promise<number | undefined> {
  if (tail.streamSeq === 0 || tail.recordSeq <= recordSeq) return tail.streamSeq + 1;
  let low = Math.max(1, tail.firstStreamSeq); // an empty stream reports first_seq 0
  let high = tail.streamSeq; // the answer is in [low, high]: the last message has a record after recordSeq
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const message = await readStreamMessage(jsm, group, middle);
    if (message === undefined) return undefined;
    if (message.lastSeq > recordSeq) high = middle;
    else low = middle + 1;
  }
  const first = await readStreamMessage(jsm, group, low);
  // Every message before `first` ends at or before recordSeq: if `first` does not hold recordSeq + 1
  // (records starting later, or a marker claiming records the stream no longer has), they were purged.
  if (first === undefined || first.kind === 'epoch' || first.firstSeq > recordSeq + 1) return undefined;
  return low;
}
