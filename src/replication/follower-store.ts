import path from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { NotLeaderError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { classifyDirectory, lockFileName } from '../format/file-names.js';
import type { StoreOptions } from '../options.js';
import { DurableKVStore, replicationHook, type ValueFor } from '../store.js';
import { divergence } from './lineage.js';
import type { ResolvedGroupOptions } from './options.js';
import { readRole, roleFileName, writeRole } from './role-file.js';
import type { SnapshotShelf } from './snapshot-shelf.js';
import { resumePoint, streamTail } from './stream.js';

/** Where a store that could not follow as it was went, and why. */
export type RebuiltFrom = { movedTo: string; reason: string } | undefined;

/**
 * Opens the store a follower of `group` applies the log to, refusing the API's writes: as it is when
 * its records are a prefix of the group's log and the stream continues them; else moved aside to
 * `<dir>.diverged-<time>` (a tail the log lacks, or behind what the stream still holds) or, when
 * empty, cleared; and started from the newest snapshot on the shelf when the stream alone cannot
 * bring it up to date.
 */
export async function openFollowerStore<O extends StoreOptions>(
  dir: string,
  storeOptions: O | undefined,
  options: ResolvedGroupOptions,
  jsm: JetStreamManager,
  shelf: SnapshotShelf,
): Promise<{ store: DurableKVStore<ValueFor<O>>; rebuiltFrom: RebuiltFrom }> {
  const { group } = options;
  const refusal = () => new NotLeaderError(`this node follows group ${group}`);
  let store = await DurableKVStore.open(dir, storeOptions);
  let hook = replicationHook(store as DurableKVStore<unknown>);
  hook.refuseWrites(refusal());
  await hook.barrier();
  const role = await readRole(hook.fs, hook.dir);
  const tail = await streamTail(jsm, group);
  let reason = await divergence(jsm, group, role, hook.lastSeq, tail);
  // A store the stream cannot continue (empty, or behind what was purged) starts from the newest snapshot.
  const newest = await shelf.newest(tail.created);
  const resumable = reason === undefined && (await resumePoint(jsm, group, hook.lastSeq, tail)) !== undefined;
  const bootstrap = newest !== undefined && newest.recordSeq > hook.lastSeq && (hook.lastSeq === 0 || !resumable);
  if (reason === undefined && bootstrap && hook.lastSeq > 0) reason = `it is at record ${hook.lastSeq}, behind what the stream still holds`;
  let rebuiltFrom: RebuiltFrom;
  if (reason !== undefined || bootstrap) {
    const { fs } = hook;
    const storeDir = hook.dir;
    await store.close();
    if (reason !== undefined) {
      const movedTo = `${path.resolve(dir)}.diverged-${Date.now()}`;
      await fs.rename(storeDir, movedTo);
      rebuiltFrom = { movedTo, reason };
    } else {
      await removeStoreFiles(fs, storeDir); // an empty store: nothing to keep (other files are left alone)
    }
    if (bootstrap && newest !== undefined) {
      await shelf.download(newest, fs, storeDir);
      await writeRole(fs, storeDir, { role: 'follower', group }); // before it opens: the snapshot came from the group
    }
    store = await DurableKVStore.open(dir, storeOptions);
    hook = replicationHook(store as DurableKVStore<unknown>);
    hook.refuseWrites(refusal());
  }
  if (role?.role !== 'follower' || rebuiltFrom !== undefined) await writeRole(hook.fs, hook.dir, { role: 'follower', group });
  return { store, rebuiltFrom };
}

/** Deletes a store's own files (its segments, snapshots, temporaries, lock and role file), nothing else. */
async function removeStoreFiles(fs: FileSystem, dir: string): Promise<void> {
  const names = await fs.readdir(dir);
  const listing = classifyDirectory(names);
  const own = [
    ...listing.segments.map((segment) => segment.name),
    ...listing.snapshots.map((snapshot) => snapshot.name),
    ...listing.temporaries,
  ];
  if (names.includes(lockFileName)) own.push(lockFileName);
  if (names.includes(roleFileName)) own.push(roleFileName);
  for (const name of own) await fs.unlink(path.join(dir, name));
  await fs.syncDir(dir);
}
