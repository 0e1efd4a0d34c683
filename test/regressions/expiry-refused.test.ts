/**
 * Regression (found by an independent review of the data model; fixed): when the WAL refuses an expiry record synchronously (mailbox full, here), the ExpiryActor
 * has already popped its keys off the heap, and settles at once, so #sweep's loop goes on popping
 * every due key. They stay in the memtable with nothing left to remove them (the heap is rebuilt
 * only when it grows past 2 × size + 65536): expired keys are never freed until the next open.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('active expiry after a refused record', () => {
  it('still removes the expired keys once the WAL takes writes again', async () => {
    const clock = { now: 1_700_000_000_000 };
    const fs = new GatedFileSystem(new MemoryFileSystem());
    const store = (await DurableKVStore.open('/db', {
      fs,
      clock: () => clock.now,
      expiryIntervalMs: 20,
      mailboxWritesMax: 2,
    })) as DurableKVStore<string>;
    for (let i = 0; i < 10; i++) await store.put(`t${i}`, 'x', { ttlMs: 100 });
    fs.holdSyncs('.wal');
    const first = store.put('x', '1');
    await fs.heldSyncs(1);
    const snapshot = store.snapshot(); // its barrier waits for the held fsync: the mailbox backs up
    await sleep(5);
    const queued = [store.put('y1', '1'), store.put('y2', '1')]; // mailbox full
    clock.now += 1000;
    await sleep(100); // several sweeps, each refused ERR_STORE_OVERLOADED
    fs.releaseAll();
    await Promise.all([first, snapshot, ...queued]);
    await sleep(500); // many sweep intervals with the WAL idle
    expect([...store.keys({ prefix: 't' })]).toEqual([]); // hidden from reads, as always
    expect(store.size).toBe(3); // x, y1, y2: the 10 expired keys should have been removed
    await store.close();
  });
});
