import { describe, expect, it } from 'vitest';
import { WalActor, type WalActorOptions } from '../../src/actors/wal-actor.js';
import { Bus, type WriteRequest } from '../../src/messages/index.js';
import { WriteSettler } from '../../src/wal/write-settler.js';
import { walRecordBytes } from '../../src/format/wal-format.js';
import { scanSegment } from '../../src/format/wal-reader.js';
import type { EncodableOp } from '../../src/types.js';
import { StoreClosedError, StoreFailedError, StoreOverloadedError } from '../../src/errors.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';

const dir = '/db';
const firstSegment = `${dir}/wal-00000000000000000001.wal`;

/** A WAL actor on its own bus, started in an empty directory; commits are acknowledged as the engine would. */
async function startWal(fs: FileSystem, options: Partial<WalActorOptions> = {}) {
  const bus = new Bus();
  await fs.mkdir(dir);
  const settler = new WriteSettler(0);
  const wal = new WalActor(
    bus,
    {
      fs,
      dir,
      sync: 'always',
      syncIntervalMs: 1000,
      segmentBytesMax: 64 * 1024 * 1024,
      mailboxWritesMax: 1_000_000,
      mailboxBytesMax: 512 * 1024 * 1024,
      walRetentionMs: 0,
      lookup: () => undefined,
      binaryValues: false,
      now: () => Date.now(),
      ...options,
    },
    { segments: [], lastSeq: 0, coveredSegments: [], keepAfterSeq: 0 },
    settler,
  );
  await wal.start();
  const committed: number[] = [];
  const groupsWritten: number[] = [];
  const failures: StoreFailedError[] = [];
  bus.on('wal.committed').subscribe(({ run }) => {
    run.requests.forEach((request, index) => {
      committed.push(run.firstSeq + index);
      seqOf.set(request, run.firstSeq + index);
    });
    settler.acknowledge(run);
  });
  bus.on('wal.groupWritten').subscribe(({ records }) => groupsWritten.push(records));
  bus.on('wal.failed').subscribe(({ error }) => failures.push(error));
  return { bus, wal, committed, groupsWritten, failures };
}

/** The seq each committed request got, as the `wal.committed` run said. */
const seqOf = new WeakMap<WriteRequest, number>();

/** Publishes one put as a WAL append; resolves with its seq once committed. */
function append(bus: Bus, key: string, value = 'value'): Promise<number> {
  const ops: EncodableOp[] = [
    { type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes: Buffer.byteLength(value), expiresAt: 0 },
  ];
  return new Promise<number>((resolve, reject) => {
    const request: WriteRequest = {
      kind: 'put',
      ops,
      recordBytes: walRecordBytes(ops),
      startedAtMs: 0,
      resolve: () => resolve(seqOf.get(request)!),
      reject,
    };
    bus.publish({ type: 'wal.append', request });
  });
}

/** Resolves when `predicate` holds, checked after each message on the bus. */
function busUntil(bus: Bus, predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate()) return resolve();
    const subscription = bus.on('wal.groupWritten', 'wal.committed', 'wal.synced').subscribe(() => {
      if (!predicate()) return;
      subscription.unsubscribe();
      resolve();
    });
  });
}

function recordSeqs(bytes: Uint8Array | undefined): number[] {
  return scanSegment(Buffer.from(bytes!), 0).records.map((record) => record.seq);
}

describe('group commit', () => {
  it('makes many queued appends durable with far fewer fsyncs than records, committing in seq order', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem({ inner: memory, seed: 1 });
    const { bus, wal, committed, groupsWritten } = await startWal(fs);
    const syncsBefore = fs.stats().calls.sync;
    const appendsBefore = fs.stats().calls.append;

    const records = 500;
    const seqs = await Promise.all(Array.from({ length: records }, (_, i) => append(bus, `k${i}`)));
    const syncs = fs.stats().calls.sync - syncsBefore;

    expect(seqs).toEqual(Array.from({ length: records }, (_, i) => i + 1)); // each request got its place in line
    expect(committed).toEqual(seqs);
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(records / 10);
    expect(fs.stats().calls.append - appendsBefore).toBe(groupsWritten.length); // one write per group
    expect(groupsWritten.reduce((sum, count) => sum + count, 0)).toBe(records);
    expect(recordSeqs(memory.durableFileBytes(firstSegment))).toEqual(seqs);
    await wal.stop();
  });

  it('acknowledges a group only after an fsync that began after its write finished', async () => {
    const memory = new MemoryFileSystem();
    const gated = new GatedFileSystem(memory);
    const { bus, wal, committed, groupsWritten } = await startWal(gated);
    gated.holdSyncs('.wal');

    const first = append(bus, 'first');
    // The fsync for `first` begins, and `first` is not acknowledged before it (a race, so a bug fails fast).
    const firstOf = (acknowledged: Promise<number>) =>
      Promise.race([gated.heldSyncs(1).then(() => 'fsync began'), acknowledged.then(() => 'acknowledged first')]);
    expect(await firstOf(first)).toBe('fsync began');
    const second = append(bus, 'second');
    await busUntil(bus, () => groupsWritten.length === 2); // `second` written while that fsync runs
    expect(committed).toEqual([]);
    expect(recordSeqs(memory.durableFileBytes(firstSegment))).toEqual([]);

    gated.releaseOne(); // the first fsync completes: it covers `first` only
    expect(await first).toBe(1);
    expect(committed).toEqual([1]);
    expect(await firstOf(second)).toBe('fsync began'); // a second fsync, begun after `second` was written
    expect(committed).toEqual([1]);
    gated.releaseAll();
    expect(await second).toBe(2);
    expect(committed).toEqual([1, 2]);
    await wal.stop();
  });

  it("with sync 'never' acknowledges without any fsync, and syncs once at stop", async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem({ inner: memory, seed: 1 });
    const { bus, wal, committed } = await startWal(fs, { sync: 'never' });
    const syncsBefore = fs.stats().calls.sync;
    const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => append(bus, `k${i}`)));
    expect(seqs).toEqual(committed);
    expect(committed).toHaveLength(50);
    expect(fs.stats().calls.sync).toBe(syncsBefore);
    expect(recordSeqs(memory.durableFileBytes(firstSegment))).toEqual([]); // acknowledged, not durable
    await wal.stop();
    // The final fsync, then the fsync of the sync marker that proves it (see the next test).
    expect(fs.stats().calls.sync).toBe(syncsBefore + 2);
    expect(recordSeqs(memory.durableFileBytes(firstSegment))).toEqual(seqs);
  });
});

describe('fsync failure', () => {
  it('rejects the requests it could not make durable, and every later append, with ERR_STORE_FAILED', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem({ inner: memory, seed: 1 });
    const { bus, wal, committed, failures } = await startWal(fs);
    const acknowledged = await append(bus, 'before');
    fs.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });

    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => append(bus, `k${i}`)));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(StoreFailedError);
      expect(reason.code).toBe('ERR_STORE_FAILED');
    }
    expect(committed).toEqual([acknowledged]);
    expect(failures).toHaveLength(1);
    expect(wal.failure).toBe(failures[0]);
    expect((results[0] as PromiseRejectedResult).reason).toBe(failures[0]);

    await expect(append(bus, 'later')).rejects.toBe(failures[0]);
    expect(fs.stats().calls.sync).toBeGreaterThan(0);
    const syncsAfterFailure = fs.stats().calls.sync;
    await expect(wal.stop()).rejects.toBe(failures[0]);
    expect(fs.stats().calls.sync).toBe(syncsAfterFailure); // never retried (fsyncgate)
    expect(committed).toEqual([acknowledged]);
  });

  it('rejects a write that fails, without retrying it', async () => {
    const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const { bus, wal, committed } = await startWal(fs);
    fs.failNth('append', 1, 'ENOSPC', { pathIncludes: '.wal' });
    const appendsBefore = fs.stats().calls.append;
    const error = await append(bus, 'k').catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(StoreFailedError);
    expect((error as Error).message).toMatch(/disk is full/);
    expect(fs.stats().calls.append).toBe(appendsBefore + 1);
    expect(committed).toEqual([]);
    await expect(wal.stop()).rejects.toBeInstanceOf(StoreFailedError);
  });
});

describe('mailbox limits', () => {
  it('refuses appends beyond mailboxWritesMax with ERR_STORE_OVERLOADED, keeping the accepted ones in order', async () => {
    const { bus, wal, committed } = await startWal(new MemoryFileSystem(), { mailboxWritesMax: 3 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => append(bus, `k${i}`)));
    const accepted = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    expect(refused.length).toBeGreaterThan(0);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(StoreOverloadedError);
      expect((reason as StoreOverloadedError).code).toBe('ERR_STORE_OVERLOADED');
    }
    // Everything queued until the mailbox was full was accepted; everything after was refused.
    expect(accepted).toEqual(Array.from({ length: accepted.length }, (_, i) => i));
    expect(committed).toEqual(accepted.map((_, i) => i + 1));
    // Not a failure: once drained, the mailbox takes writes again.
    expect(wal.failure).toBeUndefined();
    await expect(append(bus, 'after')).resolves.toBe(accepted.length + 1);
    await wal.stop();
  });

  it('refuses appends beyond mailboxBytesMax', async () => {
    const { bus, wal } = await startWal(new MemoryFileSystem(), { mailboxBytesMax: 1000 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => append(bus, `k${i}`, 'v'.repeat(300))));
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const result of refused) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreOverloadedError);
    await wal.stop();
  });
});

describe('barrier and stop', () => {
  it('publishes wal.rotated after every earlier append is committed, and starts a new segment after it', async () => {
    const memory = new MemoryFileSystem();
    const { bus, wal, committed } = await startWal(memory);
    const appends = Array.from({ length: 5 }, (_, i) => append(bus, `k${i}`));
    const rotated = new Promise<{ seq: number; committedThen: number[] }>((resolve) => {
      bus.on('wal.rotated').subscribe(({ seq }) => resolve({ seq, committedThen: [...committed] }));
    });
    bus.publish({ type: 'wal.rotate', requestId: 1, freezeMemtable: false });
    const after = append(bus, 'after barrier');

    expect(await rotated).toEqual({ seq: 5, committedThen: [1, 2, 3, 4, 5] });
    await Promise.all(appends);
    expect(await after).toBe(6);
    expect(await memory.readdir(dir)).toEqual(['wal-00000000000000000001.wal', 'wal-00000000000000000006.wal']);
    expect(wal.segmentCount).toBe(2);
    await wal.stop();
  });

  it('drains queued appends on stop, then refuses new ones with ERR_STORE_CLOSED', async () => {
    const memory = new MemoryFileSystem();
    const { bus, wal } = await startWal(memory);
    const queued = Array.from({ length: 30 }, (_, i) => append(bus, `k${i}`));
    const stopped = wal.stop();
    await expect(append(bus, 'late')).rejects.toBeInstanceOf(StoreClosedError);
    await stopped;
    expect(await Promise.all(queued)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(recordSeqs(memory.durableFileBytes(firstSegment))).toHaveLength(30);
  });
});
