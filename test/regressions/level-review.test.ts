/**
 * Review of `durable-kv/level` (DurableLevel): behaviour abstract-level's own suite does not reach.
 * Each test was a bug the review found (now fixed) or pins behaviour that is easy to break:
 * - clear({ snapshot }) split its deletes by operation count only, so it could pass the WAL record
 *   limit where clear() works: now by count and bytes of keys (test/level also unit-tests the chunks);
 * - a Buffer value of exactly valueBytesMax was refused once values were tagged strings: limits are
 *   now counted in the Level value's own bytes;
 * - a failed close() left a database that said 'open' and threw bare TypeErrors: now ERR_STORE_CLOSED,
 *   and close() again then open() brings it back (abstract-level keeps 'open' after a failed close);
 * - createIfMissing: false took a directory with only LOCK (and LOG) for a store and created one;
 * - seek() on an iterator whose explicit snapshot is closed threw a bare TypeError at once;
 * - (pins) a Level snapshot keeps its moment through a disk snapshot and a dropped and rebuilt index.
 */
import { Buffer } from 'node:buffer';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AbstractLevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import { DurableLevel } from '../../src/level/index.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { type CodedError, rejectionOf } from '../helpers/errors.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

type OpenError = CodedError & { cause?: CodedError };

describe('clear({ snapshot }) in batches', () => {
  it('deletes what the snapshot holds in the range, as memory-level does, across several batches (batchOpsMax: 3)', async () => {
    // Seven keys to delete with batchOpsMax 3: one batch would be refused; three batches are not.
    const db = closeAfterTest(new DurableLevel('/db', { fs: new MemoryFileSystem(), batchOpsMax: 3 }));
    const reference = new MemoryLevel();
    for (const target of [db, reference] as Array<AbstractLevel<string | Uint8Array, string, string>>) {
      for (let i = 0; i < 10; i++) await target.put(`k${i}`, 'v');
      const snapshot = target.snapshot();
      await target.put('k55', 'kept: not in the snapshot');
      await target.clear({ snapshot, gte: 'k2', lt: 'k9' });
      await snapshot.close();
    }
    expect(await reference.keys().all()).toEqual(['k0', 'k1', 'k55', 'k9']);
    expect(await db.keys().all()).toEqual(await reference.keys().all());
  });
});

describe('valueBytesMax and binary values', () => {
  it('accepts a Buffer value of exactly valueBytesMax bytes, whatever the bytes (README: "a value of at most valueBytesMax")', async () => {
    // Values given as bytes are stored as tagged latin1 strings in a 'utf8' store: the tag and every
    // byte >= 0x80 take room in the stored form; the limit is the value's own bytes nonetheless.
    const db = closeAfterTest(
      new DurableLevel<string, Buffer>('/db', { fs: new MemoryFileSystem(), valueEncoding: 'buffer', valueBytesMax: 1024 }),
    );
    expect((await rejectionOf(db.put('over', Buffer.alloc(1025, 0xff)))).code).toBe('ERR_INVALID_ARG');
    await db.put('low', Buffer.alloc(1024, 0x01));
    await db.put('high', Buffer.alloc(1024, 0xff));
    expect((await db.get('low'))?.equals(Buffer.alloc(1024, 0x01))).toBe(true);
    expect((await db.get('high'))?.equals(Buffer.alloc(1024, 0xff))).toBe(true);
  });
});

describe('a close() that fails', () => {
  it('rejects (the failure is not hidden); calls then fail with ERR_STORE_CLOSED; close() again and open() bring it back', async () => {
    // sync: 'never' → close() still fsyncs the WAL; that fsync fails. The store closes anyway (its
    // lifecycle always ends in 'closed') and close() rejects; abstract-level puts a failed close
    // back to 'open', so open() alone would do nothing.
    const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 7 });
    const db = new DurableLevel('/db', { fs, sync: 'never', autoSnapshot: false });
    await db.put('a', '1');
    fs.failWithProbability('sync', 1);
    const closeError = (await rejectionOf(db.close())) as OpenError;
    expect(closeError.code).toBe('LEVEL_DATABASE_NOT_CLOSED');
    expect(db.status).toBe('open');
    expect((await rejectionOf(db.get('a'))).code).toBe('ERR_STORE_CLOSED');
    expect((await rejectionOf(db.put('b', '2'))).code).toBe('ERR_STORE_CLOSED');
    fs.clearFaults();
    await db.close();
    expect(db.status).toBe('closed');
    await db.open();
    expect(await db.get('a')).toBe('1');
    await db.close();
  });
});

describe('createIfMissing: false', () => {
  it('refuses a directory that classic-level left with only LOCK and LOG after its own createIfMissing: false, as classic-level does', async () => {
    // LevelDB takes its LOCK (and starts its LOG) before it finds there is no database, so a failed
    // `new ClassicLevel(dir, { createIfMissing: false }).open()` leaves both behind. DurableLevel
    // counted a LOCK file as "holds a store" and opened — creating a new, empty store (a WAL segment)
    // where the caller said not to create one.
    const dir = path.join(await tempDir('level-review-'), 'db');
    await mkdir(dir);
    const leveldb = new ClassicLevel(dir, { createIfMissing: false });
    await rejectionOf(leveldb.open());
    const left = (await readdir(dir)).sort();
    expect(left).toEqual(['LOCK', 'LOG']);
    expect((await rejectionOf(new ClassicLevel(dir, { createIfMissing: false }).open())).code).toBe('LEVEL_DATABASE_NOT_OPEN');
    const leftNow = (await readdir(dir)).sort(); // LevelDB's second try rotates its LOG

    const db = closeAfterTest(new DurableLevel(dir, { createIfMissing: false }));
    const error = (await db.open().then(
      () => undefined,
      (caught: unknown) => caught,
    )) as OpenError | undefined;
    expect(error?.code).toBe('LEVEL_DATABASE_NOT_OPEN');
    expect(error?.cause?.code).toBe('ERR_NO_STORE');
    expect((await readdir(dir)).sort()).toEqual(leftNow);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });
});

/** What seek() and then next() do on a keys() iterator whose explicit snapshot was closed after it was made. */
async function seekOnClosedSnapshot<F>(db: AbstractLevel<F, string, string>): Promise<string[]> {
  await db.put('a', '1');
  const snapshot = db.snapshot();
  const iterator = db.keys({ snapshot });
  await snapshot.close();
  const outcome: string[] = [];
  try {
    iterator.seek('a');
    outcome.push('seek: ok');
  } catch (error) {
    outcome.push(`seek: ${(error as Error).name} ${(error as CodedError).code}`);
  }
  outcome.push(`next: ${(await rejectionOf(iterator.next())).code}`);
  await iterator.close();
  await db.close();
  return outcome;
}

describe('seek() on an iterator whose explicit snapshot is closed', () => {
  it('does not throw; the next read rejects with LEVEL_SNAPSHOT_NOT_OPEN, as on memory-level', async () => {
    // Cursor.seek() asked for the snapshot's view at once, and DurableSnapshot.view throws a plain
    // TypeError once the snapshot is closed. abstract-level refuses a closed snapshot at the next read
    // (LEVEL_SNAPSHOT_NOT_OPEN), which is what memory-level gives.
    const onMemoryLevel = await seekOnClosedSnapshot(new MemoryLevel());
    const onDurableLevel = await seekOnClosedSnapshot(new DurableLevel('/db', { fs: new MemoryFileSystem() }));
    const outcomes = [onMemoryLevel, onDurableLevel];
    expect(outcomes[0]).toEqual(['seek: ok', 'next: LEVEL_SNAPSHOT_NOT_OPEN']);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});

describe('a Level snapshot keeps its moment (passes: pins the behaviour)', () => {
  it('through a disk snapshot, a dropped and rebuilt ordered index, and callers changing the Buffers they read', {
    timeout: 120_000,
  }, async () => {
    const db = new DurableLevel<string, Buffer>('/db', { fs: new MemoryFileSystem(), valueEncoding: 'buffer', sync: 'never' });
    await db.batch(['a', 'b', 'c'].map((key) => ({ type: 'put' as const, key, value: Buffer.from(key) })));
    const first = db.snapshot(); // builds the ordered index and pins it
    // More writes than orderedIndexIdleWritesMin (100,000) with no range read: the index is dropped.
    for (let round = 0; round < 3; round++) {
      await db.batch(Array.from({ length: 40_000 }, (_, i) => ({ type: 'put' as const, key: `x${i % 10}`, value: Buffer.from([round]) })));
    }
    await db.del('a');
    // A disk snapshot freezes the memtable; writes meanwhile land in its overlay.
    const diskSnapshot = db.store.snapshot();
    await db.put('b', Buffer.from('B'));
    const second = db.snapshot(); // rebuilds the index from base + overlay
    await db.put('c', Buffer.from('C'));
    await db.del('b');
    await diskSnapshot;
    await db.put('d', Buffer.from('d'));

    const read = await db.get('c', { snapshot: first });
    read?.fill(0);
    const [[, fromIterator]] = await db.iterator({ snapshot: first, limit: 1 }).all();
    fromIterator.fill(0);

    const text = (entries: Array<[string, Buffer]>) => entries.map(([key, value]) => `${key}=${value.toString('latin1')}`);
    expect(text(await db.iterator({ snapshot: first }).all())).toEqual(['a=a', 'b=b', 'c=c']);
    expect(text(await db.iterator({ snapshot: second, lt: 'x' }).all())).toEqual(['b=B', 'c=c']);
    expect(await db.keys({ snapshot: second, gte: 'x' }).all()).toHaveLength(10);
    expect(text(await db.iterator({ lt: 'x' }).all())).toEqual(['c=C', 'd=d']);
    await first.close();
    await second.close();
    await db.close();
  });
});
