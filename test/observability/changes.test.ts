import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { firstValueFrom, take, toArray } from 'rxjs';
import { DurableKVStore, type Change } from '../../src/index.js';

function expectContiguous(changes: Array<Change<unknown>>, fromSeq: number, toSeq: number): void {
  expect(changes.map((change) => change.seq)).toEqual(Array.from({ length: toSeq - fromSeq + 1 }, (_, i) => fromSeq + i));
}

describe('changes({ since })', () => {
  it('replays history from the WAL on disk, after a restart, then continues live', async () => {
    const dir = await tempDir();
    const first = await DurableKVStore.open(dir);
    for (let i = 1; i <= 5; i++) await first.put(`k${i}`, `v${i}`);
    await first.close();
    const store = await DurableKVStore.open(dir);
    const collected = firstValueFrom(store.changes({ since: 2 }).pipe(take(4), toArray()));
    await store.delete('k1');
    const changes = await collected;
    expect(changes).toEqual([
      { seq: 3, ops: [{ type: 'put', key: 'k3', value: 'v3', expiresAt: null }] },
      { seq: 4, ops: [{ type: 'put', key: 'k4', value: 'v4', expiresAt: null }] },
      { seq: 5, ops: [{ type: 'put', key: 'k5', value: 'v5', expiresAt: null }] },
      { seq: 6, ops: [{ type: 'delete', key: 'k1' }] },
    ]);
    await store.close();
  });

  it('delivers a batch as one change with all its operations', async () => {
    const store = await DurableKVStore.open(await tempDir(), { valueEncoding: 'json' });
    const next = firstValueFrom(store.changes({ since: 0 }));
    await store.batch([
      { type: 'put', key: 'a', value: { n: 1 } },
      { type: 'delete', key: 'b' },
    ]);
    expect(await next).toEqual({
      seq: 1,
      ops: [
        { type: 'put', key: 'a', value: { n: 1 }, expiresAt: null },
        { type: 'delete', key: 'b' },
      ],
    });
    await store.close();
  });

  it('has no gap and no duplicate at the switch from history to live under concurrent writes', async () => {
    const store = await DurableKVStore.open(await tempDir(), { autoSnapshot: false, segmentBytesMax: 8 * 1024 });
    const total = 4_000;
    let issued = 0;
    const writers = Array.from({ length: 32 }, async () => {
      while (issued < total) {
        const n = issued++;
        await store.put(`k${n}`, `v${n}`);
      }
    });
    // Subscribe while writes are in flight, from a point that is already history.
    while (store.stats().lastSeq < 1_000) await new Promise((resolve) => setImmediate(resolve));
    const since = 500;
    const changes = firstValueFrom(store.changes({ since }).pipe(take(total - since), toArray()));
    await Promise.all(writers);
    expectContiguous(await changes, since + 1, total);
    await store.close();
  });

  it('values match what was written, for every seq', async () => {
    const store = await DurableKVStore.open(await tempDir(), { autoSnapshot: false });
    for (let i = 0; i < 50; i++) await store.put(`key-${i % 7}`, `value-${i}`);
    const changes = await firstValueFrom(store.changes({ since: 0 }).pipe(take(50), toArray()));
    for (const [i, change] of changes.entries()) {
      expect(change.ops).toEqual([{ type: 'put', key: `key-${i % 7}`, value: `value-${i}`, expiresAt: null }]);
    }
    await store.close();
  });

  it('errors with ERR_CHANGES_UNAVAILABLE when a snapshot compacted the history asked for', async () => {
    const store = await DurableKVStore.open(await tempDir(), { autoSnapshot: false, snapshotGenerations: 1 });
    for (let i = 0; i < 10; i++) await store.put(`k${i}`, 'v');
    await store.snapshot();
    await store.put('after', 'v');
    await expect(firstValueFrom(store.changes({ since: 3 }))).rejects.toMatchObject({ code: 'ERR_CHANGES_UNAVAILABLE' });
    // From the snapshot's seq on, the WAL still has everything.
    expect(await firstValueFrom(store.changes({ since: 10 }))).toMatchObject({ seq: 11 });
    await store.close();
  });

  it('keeps covered WAL history for walRetentionMs, also across a restart', async () => {
    const dir = await tempDir();
    const options = { autoSnapshot: false, walRetentionMs: 60_000 } as const;
    const first = await DurableKVStore.open(dir, options);
    for (let i = 1; i <= 10; i++) await first.put(`k${i}`, `v${i}`);
    await first.snapshot();
    await first.close();
    const store = await DurableKVStore.open(dir, options);
    const changes = await firstValueFrom(store.changes({ since: 3 }).pipe(take(7), toArray()));
    expectContiguous(changes, 4, 10);
    await store.close();
  });

  it('completes when the store closes', async () => {
    const store = await DurableKVStore.open(await tempDir());
    let completed = false;
    store.changes().subscribe({ complete: () => (completed = true) });
    await store.close();
    expect(completed).toBe(true);
  });
});
