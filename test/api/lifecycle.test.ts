import { readFile, stat, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore, type OperationEvent, type RecoveryReport, type StoreState } from '../../src/index.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

describe('states', () => {
  it('state$ gives the current state on subscribe, then closing and closed, then completes', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    const seen: StoreState[] = [];
    let completed = false;
    store.state$.subscribe({ next: (state) => seen.push(state), complete: () => (completed = true) });
    expect(seen).toEqual(['ready']);
    expect(store.state).toBe('ready');

    const closing = store.close();
    expect(store.state).toBe('closing');
    expect(seen).toEqual(['ready', 'closing']);
    expect(completed).toBe(false);
    await closing;
    expect(store.state).toBe('closed');
    expect(seen).toEqual(['ready', 'closing', 'closed']);
    expect(completed).toBe(true);

    // A subscriber after close gets the current state too, then completion.
    const late: StoreState[] = [];
    let lateCompleted = false;
    store.state$.subscribe({ next: (state) => late.push(state), complete: () => (lateCompleted = true) });
    expect(late).toEqual(['closed']);
    expect(lateCompleted).toBe(true);
  });

  it("emits a 'state' event for every transition from open to closed, in order", async () => {
    const dir = await tempDir();
    const events: StoreState[] = [];
    const store = await DurableKVStore.open(dir, { listeners: { state: (state) => events.push(state) } });
    expect(events).toEqual(['recovering', 'ready']);
    await store.put('k', 'v');
    await store.close();
    expect(events).toEqual(['recovering', 'ready', 'closing', 'closed']);
  });

  it("ends in 'failed' when open fails", async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.put('a', '1');
    await store.put('b', '2');
    await store.close();
    const segment = path.join(dir, (await readdir(dir)).find((name) => name.endsWith('.wal'))!);
    const bytes = await readFile(segment);
    bytes[16 + 20] ^= 0xff;
    await writeFile(segment, bytes);

    const events: StoreState[] = [];
    await expect(DurableKVStore.open(dir, { listeners: { state: (state) => events.push(state) } })).rejects.toMatchObject({
      code: 'ERR_STORE_CORRUPT',
    });
    expect(events).toEqual(['recovering', 'failed']);
  });

  it('goes ready → failed when the WAL fails, and failed → closing → closed on close', async () => {
    const faulty = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 3 });
    const store = await DurableKVStore.open('/db', { fs: faulty });
    const seen: StoreState[] = [];
    store.state$.subscribe((state) => seen.push(state));
    faulty.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
    await expect(store.put('k', 'v')).rejects.toMatchObject({ code: 'ERR_STORE_FAILED' });
    expect(store.state).toBe('failed');
    await store.close();
    expect(seen).toEqual(['ready', 'failed', 'closing', 'closed']);
  });
});

describe('events heard through options.listeners', () => {
  it("hears 'recovery' with the same report as store.recoveryReport", async () => {
    const dir = await tempDir();
    const first = await DurableKVStore.open(dir);
    await first.put('a', '1');
    await first.close();
    const reports: RecoveryReport[] = [];
    const store = closeAfterTest(await DurableKVStore.open(dir, { listeners: { recovery: (report) => reports.push(report) } }));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toBe(store.recoveryReport);
    expect(reports[0]).toMatchObject({ recordsReplayed: 1, segmentsRead: 1, tornTail: undefined });
  });
});

describe('operations$', () => {
  it('emits each completed put, delete, batch and snapshot with seqs increasing by one', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir));
    const events: OperationEvent[] = [];
    store.operations$.subscribe((event) => events.push(event));
    const walBytesBefore = store.stats().walBytes;

    await store.put('a', 'xyz');
    await store.delete('a');
    await store.batch([
      { type: 'put', key: 'b', value: '2' },
      { type: 'put', key: 'c', value: '3' },
      { type: 'delete', key: 'd' },
    ]);
    await store.put('e', '5');
    const writes = events.slice();
    const walBytesWritten = store.stats().walBytes - walBytesBefore;
    const snapshot = await store.snapshot();

    // Record bytes: 20 header + 4 op count + per op (1 type + 4 key length + key [+ 4 value length + value]).
    expect(writes).toEqual([
      { type: 'put', key: 'a', seq: 1, durationMs: expect.any(Number), bytes: 20 + 4 + 5 + 1 + 4 + 3 },
      { type: 'delete', key: 'a', seq: 2, durationMs: expect.any(Number), bytes: 20 + 4 + 5 + 1 },
      { type: 'batch', count: 3, seq: 3, durationMs: expect.any(Number), bytes: 20 + 4 + (5 + 1 + 4 + 1) * 2 + (5 + 1) },
      { type: 'put', key: 'e', seq: 4, durationMs: expect.any(Number), bytes: 20 + 4 + 5 + 1 + 4 + 1 },
    ]);
    for (const event of writes) expect(event.durationMs).toBeGreaterThanOrEqual(0);
    expect(writes.reduce((sum, event) => sum + event.bytes, 0)).toBe(walBytesWritten);

    const snapshotFile = path.join(dir, `snap-${String(snapshot.seq).padStart(20, '0')}.snap`);
    expect(events.slice(writes.length)).toEqual([
      { type: 'snapshot', seq: 4, durationMs: expect.any(Number), bytes: (await stat(snapshotFile)).size },
    ]);
    expect(snapshot).toMatchObject({ seq: 4, keys: 3 });
  });

  it('completes when the store closes', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    let completed = false;
    store.operations$.subscribe({ complete: () => (completed = true) });
    await store.put('k', 'v');
    expect(completed).toBe(false);
    await store.close();
    expect(completed).toBe(true);
  });

  it("emits 'snapshot' events for snapshots", async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir));
    const results: number[] = [];
    store.on('snapshot', (result) => results.push(result.seq));
    await store.put('k', 'v');
    const result = await store.snapshot();
    expect(results).toEqual([result.seq]);
  });
});
