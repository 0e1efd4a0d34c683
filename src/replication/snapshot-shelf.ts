import path from 'node:path';
import { type ObjectStore, Objm, StorageType } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FileSystem } from '../fs/file-system.js';
import { ReplicationFailedError } from '../errors.js';
import { snapshotName, temporarySuffix } from '../format/file-names.js';

/** A snapshot on the shelf: the store as of record `recordSeq`, which the stream holds at message `streamSeq`. */
export interface ShelvedSnapshot {
  name: string;
  recordSeq: number;
  streamSeq: number;
  bytes: number;
}

/** A download that gets no chunk for this long fails. */
const downloadIdleMs = 30_000;

/** Bytes read from a snapshot file per chunk uploaded. */
const uploadChunkBytes = 1024 * 1024;

/**
 * A group's snapshots in a JetStream Object Store bucket (`dkv_snapshots_<group>`), each named by
 * the stream seq it covers: a new follower loads the newest, then consumes the stream after it, so
 * the stream can be purged below what the oldest kept snapshot needs.
 */
export class SnapshotShelf {
  readonly #store: ObjectStore;

  private constructor(store: ObjectStore) {
    this.#store = store;
  }

  static async open(connection: NatsConnection, group: string, replicas: number): Promise<SnapshotShelf> {
    const objm = new Objm(connection);
    const bucket = `dkv_snapshots_${group}`;
    const store = await objm.create(bucket, { replicas, storage: StorageType.File }).catch(() => objm.open(bucket));
    return new SnapshotShelf(store);
  }

  /**
   * The snapshots of the stream created at `stream` (see `StreamTail.created`), oldest first; with
   * `others`, those of any other stream (one deleted and made again under the group's name).
   */
  async list(stream: string, others = false): Promise<ShelvedSnapshot[]> {
    const infos = await this.#store.list();
    const shelved: ShelvedSnapshot[] = [];
    for (const info of infos) {
      const recordSeq = Number(info.metadata?.recordSeq);
      const streamSeq = Number(info.metadata?.streamSeq);
      if (info.deleted || !Number.isSafeInteger(recordSeq) || !Number.isSafeInteger(streamSeq)) continue;
      if ((info.metadata?.stream === stream) === others) continue;
      shelved.push({ name: info.name, recordSeq, streamSeq, bytes: info.size });
    }
    return shelved.sort((a, b) => a.streamSeq - b.streamSeq);
  }

  async newest(stream: string): Promise<ShelvedSnapshot | undefined> {
    return (await this.list(stream)).at(-1);
  }

  /** Uploads the snapshot file `file` (read through `fs`) as covering `recordSeq`, held by `stream` at `streamSeq`. */
  async put(fs: FileSystem, file: string, recordSeq: number, stream: string, streamSeq: number): Promise<ShelvedSnapshot> {
    const bytes = await fs.size(file);
    const handle = await fs.openRead(file);
    let position = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (position >= bytes) {
          controller.close();
          return;
        }
        const chunk = await handle.read(position, Math.min(uploadChunkBytes, bytes - position));
        position += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const name = `snapshot-${String(streamSeq).padStart(20, '0')}`;
    try {
      await this.#store.put({ name, metadata: { recordSeq: String(recordSeq), streamSeq: String(streamSeq), stream } }, body);
    } finally {
      await handle.close();
    }
    return { name, recordSeq, streamSeq, bytes };
  }

  /**
   * Writes `snapshot` into the empty store directory `dir` as its only snapshot file: through a
   * temporary, synced, renamed and the directory synced, so a crash leaves a whole snapshot or none.
   * The object store checks the download against its digest.
   */
  async download(snapshot: ShelvedSnapshot, fs: FileSystem, dir: string): Promise<void> {
    const result = await this.#store.get(snapshot.name);
    if (result === null) throw new ReplicationFailedError(`snapshot ${snapshot.name} is gone from the shelf`);
    const failed = result.error.then((error) => (error instanceof Error ? error : undefined)).catch((error: Error) => error);
    await fs.mkdir(dir);
    const file = path.join(dir, snapshotName(snapshot.recordSeq));
    const temporary = `${file}${temporarySuffix}`;
    const handle = await fs.openAppend(temporary, 'truncate');
    try {
      // A snapshot pruned while it downloads sends no more chunks: an idle download fails (and is tried again anew).
      for await (const chunk of withIdleTimeout(result.data, downloadIdleMs, snapshot.name)) await handle.append(chunk);
      const failure = await failed;
      if (failure !== undefined)
        throw new ReplicationFailedError(`downloading snapshot ${snapshot.name} failed: ${failure.message}`, { cause: failure });
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, file);
    await fs.syncDir(dir);
  }

  /**
   * Deletes all but the `keep` newest snapshots of `stream` (and any of another stream); resolves
   * the oldest kept: what the stream must still hold after.
   */
  async prune(keep: number, stream: string): Promise<ShelvedSnapshot | undefined> {
    const shelved = await this.list(stream);
    const kept = shelved.slice(-keep);
    for (const old of [...shelved.slice(0, -keep), ...(await this.list(stream, true))]) await this.#store.delete(old.name);
    return kept[0];
  }
}

/** The stream's chunks, failing when none comes for `idleMs`. */
async function* withIdleTimeout(data: ReadableStream<Uint8Array>, idleMs: number, name: string): AsyncGenerator<Uint8Array> {
  const reader = data.getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new ReplicationFailedError(`snapshot ${name}: no data for ${idleMs} ms`)), idleMs);
      });
      const next = await Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
}
