import { Observable, takeUntil } from 'rxjs';
import type { Codec } from './codec.js';
import type { FileSystem } from './fs/file-system.js';
import type { Bus, WriteRequest } from './messages/index.js';
import { classifyDirectory } from './format/file-names.js';
import { visitWalOps, type RecordSpan } from './format/wal-format.js';
import { readWal } from './format/wal-reader.js';
import { rangeOptionsOf } from './format/range-spec.js';
import type { EncodableOp, RangeOptions } from './types.js';
import { assert, ChangesUnavailableError } from './errors.js';

/**
 * One effect of a committed record. Every op of a record has the record's seq as its version. An
 * increment shows as the put of its new value, a keepTtl put as a put with the expiry it kept: the
 * log holds effects, not requests.
 */
export type ChangeOp<V> =
  /** `expiresAt`: epoch ms, or null when the key does not expire (a put clears any earlier expiry). */
  | { type: 'put'; key: string; value: V; expiresAt: number | null }
  /** `expired`: removed by active expiry, its time having passed. */
  | { type: 'delete'; key: string; expired?: true }
  /** Every key in the range as it stood when the record was applied (which keys: read the store, or keep your own). */
  | { type: 'deleteRange'; range: RangeOptions }
  /** The key's expiry changed (null: removed); its value did not. */
  | { type: 'expire'; key: string; expiresAt: number | null };

/** One committed WAL record: a put, a delete, or a whole batch, with its seq (the version of every key it wrote). */
export interface Change<V> {
  seq: number;
  ops: Array<ChangeOp<V>>;
}

export interface ChangeFeedSource {
  fs: FileSystem;
  dir: string;
  codec: Codec<unknown>;
  bus: Bus;
  /** The last committed seq, read synchronously when a subscriber arrives. */
  lastSeq(): number;
}

/**
 * Committed changes with seq > `since`, in seq order: first replayed from the WAL on disk, then live.
 *
 * No gap and no duplicate at the switch: the live stream is subscribed first and buffered, then the
 * last committed seq `upTo` is read in the same synchronous turn. Every record <= upTo is already in
 * the WAL (a record is committed only after its write), every record > upTo will come live. History
 * replays (since, upTo], then buffered live records > upTo follow, then live ones as they commit.
 */
export function changeFeed<V>(source: ChangeFeedSource, since: number): Observable<Change<V>> {
  return new Observable<Change<V>>((subscriber) => {
    let buffered: Array<Change<V>> | undefined = [];
    const live = source.bus
      .on('memtable.applied')
      .pipe(takeUntil(source.bus.stop$))
      .subscribe({
        next: ({ run }) => {
          run.requests.forEach((request, index) => {
            const seq = run.firstSeq + index;
            if (seq <= since) return;
            const change = liveChange<V>(seq, request, source.codec);
            if (buffered !== undefined) buffered.push(change);
            else subscriber.next(change);
          });
        },
        complete: () => subscriber.complete(),
      });
    const upTo = source.lastSeq();
    const history = since < upTo ? readHistory<V>(source, since, upTo, (change) => subscriber.next(change)) : Promise.resolve();
    history.then(
      () => {
        const pending = buffered ?? [];
        buffered = undefined;
        for (const change of pending) if (change.seq > upTo) subscriber.next(change);
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => live.unsubscribe();
  });
}

function liveChange<V>(seq: number, request: WriteRequest, codec: Codec<unknown>): Change<V> {
  return { seq, ops: request.ops.map((op) => changeOpOf<V>(op, codec)) };
}

function changeOpOf<V>(op: EncodableOp, codec: Codec<unknown>): ChangeOp<V> {
  if (op.type === 'put') return { type: 'put', key: op.key, value: codec.fromStored(op.value) as V, expiresAt: expiryOf(op.expiresAt) };
  if (op.type === 'delete') return deleteChange(op.key, op.expired === true);
  if (op.type === 'deleteRange') return { type: 'deleteRange', range: rangeOptionsOf(op.range) };
  return { type: 'expire', key: op.key, expiresAt: expiryOf(op.expiresAt) };
}

function expiryOf(expiresAt: number): number | null {
  return expiresAt === 0 ? null : expiresAt;
}

function deleteChange<V>(key: string, expired: boolean): ChangeOp<V> {
  return expired ? { type: 'delete', key, expired: true } : { type: 'delete', key };
}

/** Replays records (since, upTo] from the WAL segments on disk, in order, or fails with ERR_CHANGES_UNAVAILABLE. */
async function readHistory<V>(source: ChangeFeedSource, since: number, upTo: number, emit: (change: Change<V>) => void): Promise<void> {
  const { segments } = classifyDirectory(await source.fs.readdir(source.dir));
  const oldestSeq = segments[0]?.firstSeq;
  if (oldestSeq === undefined || oldestSeq > since + 1) {
    throw new ChangesUnavailableError(
      `changes since seq ${since} are no longer in the WAL (it holds seq ${oldestSeq ?? '-'} on): a snapshot compacted them; ` +
        'use the walRetentionMs option to keep history longer',
      oldestSeq,
    );
  }
  let lastEmitted = since;
  await readWal(
    { fs: source.fs, dir: source.dir, segments, fromSeq: since + 1 },
    {
      vanished: (segment, cause) => {
        throw new ChangesUnavailableError(`WAL segment ${segment.name} was compacted while the change feed read it`, oldestSeq, { cause });
      },
      headerProblem: (segment) => assert(false, `history segment ${segment.name} has a valid header`),
      record: (bytes, span) => {
        if (span.seq <= lastEmitted || span.seq > upTo) return;
        emit(historyChange<V>(bytes, span, source.codec));
        lastEmitted = span.seq;
      },
      // Records past upTo, and a torn tail a write in flight may show, are not history.
      segmentEnd: () => (lastEmitted < upTo ? undefined : 'stop'),
    },
  );
  assert(lastEmitted === upTo, `change feed history ended at ${lastEmitted}, expected ${upTo}`);
}

function historyChange<V>(bytes: Buffer, span: RecordSpan, codec: Codec<unknown>): Change<V> {
  const ops: Array<ChangeOp<V>> = [];
  visitWalOps(bytes, span, {
    put: (key, source, start, end, expiresAt) =>
      ops.push({ type: 'put', key, value: codec.fromStored(codec.fromBytes(source, start, end)) as V, expiresAt: expiryOf(expiresAt) }),
    delete: (key, expired) => ops.push(deleteChange<V>(key, expired)),
    deleteRange: (range) => ops.push({ type: 'deleteRange', range: rangeOptionsOf(range) }),
    expire: (key, expiresAt) => ops.push({ type: 'expire', key, expiresAt: expiryOf(expiresAt) }),
  });
  return { seq: span.seq, ops };
}
