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

  /** Every snapshot on the shelf, oldest first. */
  async list(): Promise<ShelvedSnapshot[]> {
    const infos = await this.#store.list();
    const shelved: ShelvedSnapshot[] = [];
    for (const info of infos) {
      const recordSeq = Number(info.metadata?.recordSeq);
      const streamSeq = Number(info.metadata?.streamSeq);
      if (info.deleted || !Number.isSafeInteger(recordSeq) || !Number.isSafeInteger(streamSeq)) continue;
      shelved.push({ name: info.name, recordSeq, streamSeq, bytes: info.size });
    }
    return shelved.sort((a, b) => a.streamSeq - b.streamSeq);
  }

  async newest(): Promise<ShelvedSnapshot | undefined> {
    return (await this.list()).at(-1);
  }

  /** Uploads the snapshot file `file` (read through `fs`) as covering `recordSeq`, held by the stream at `streamSeq`. */
  async put(fs: FileSystem, file: string, recordSeq: number, streamSeq: number): Promise<ShelvedSnapshot> {
    const bytes = await fs.size(file);
    const handle = await fs.openRead(file);
    let position = 0;
    const stream = new ReadableStream<Uint8Array>({
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
      await this.#store.put({ name, metadata: { recordSeq: String(recordSeq), streamSeq: String(streamSeq) } }, stream);
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
    await fs.mkdir(dir);
    const file = path.join(dir, snapshotName(snapshot.recordSeq));
    const temporary = `${file}${temporarySuffix}`;
    const handle = await fs.openAppend(temporary, 'truncate');
    try {
      for await (const chunk of result.data as unknown as AsyncIterable<Uint8Array>) await handle.append(chunk);
      const failure = await result.error;
      if (failure instanceof Error)
        throw new ReplicationFailedError(`downloading snapshot ${snapshot.name} failed: ${failure.message}`, { cause: failure });
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, file);
    await fs.syncDir(dir);
  }

  /** Deletes all but the `keep` newest snapshots; resolves the oldest kept (what the stream must still hold after). */
  async prune(keep: number): Promise<ShelvedSnapshot | undefined> {
    const shelved = await this.list();
    const kept = shelved.slice(-keep);
    for (const old of shelved.slice(0, -keep)) await this.#store.delete(old.name);
    return kept[0];
  }
}
