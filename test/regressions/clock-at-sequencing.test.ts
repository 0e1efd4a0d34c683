/**
 * Regression (found by an independent review of the data model; fixed): conditions, keepTtl and increments are judged with the clock read at the CALL
 * (intent.nowMs), not when the WAL actor sequences the write. A key whose time passes between the
 * two is treated as live at sequencing.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore, type StoreOptions } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

function manualClock(startMs = 1_700_000_000_000) {
  const clock = { now: startMs, read: () => clock.now };
  return clock;
}
async function open(fs: MemoryFileSystem, options: StoreOptions = {}) {
  return (await DurableKVStore.open('/db', { fs, ...options })) as DurableKVStore<string>;
}

describe('the clock at sequencing', () => {
  it('keepTtl put: acknowledged ok, yet the value is never visible (written with an expiry already past)', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('k', 'old', { ttlMs: 100 });
    const pending = store.put('k', 'new', { keepTtl: true }); // called while 'k' is still live
    clock.now += 200; // 'k' expires before the WAL actor sequences the put (it starts on setImmediate)
    expect(store.get('k')).toBeUndefined(); // gone for reads: at sequencing the key does not exist
    const result = await pending;
    expect(result.ok).toBe(true);
    // At sequencing the key did not exist, so keepTtl had nothing to keep: 'new' without expiry.
    expect(store.get('k')).toBe('new');
    await store.close();
  });

  it('increment: resolves 6, but the key it "wrote" does not exist', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('c', '5', { ttlMs: 100 });
    const pending = store.increment('c');
    clock.now += 200;
    const value = await pending;
    // A missing (expired) key counts as 0 at sequencing: 1, and the key holds it.
    expect({ value, stored: store.get('c') }).toEqual({ value: 1, stored: '1' });
    await store.close();
  });

  it('ifVersion on a key that expired before sequencing succeeds', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('lease', 'a', { ttlMs: 100 });
    const version = store.getEntry('lease')?.version as number;
    const pending = store.put('lease', 'renewed', { ifVersion: version });
    clock.now += 200;
    expect(store.getEntry('lease')).toBeUndefined();
    expect(await pending).toEqual({ ok: false, conflicts: ['lease'] });
    await store.close();
  });

  it('ifAbsent on a key that expired before sequencing fails', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('lock', 'a', { ttlMs: 100 });
    const pending = store.put('lock', 'b', { ifAbsent: true });
    clock.now += 200;
    expect(store.getEntry('lock')).toBeUndefined();
    expect((await pending).ok).toBe(true);
    await store.close();
  });

  it('expire(key, null): a key every read already saw gone comes back, without expiry', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('k', 'v', { ttlMs: 100 });
    const pending = store.expire('k', null);
    clock.now += 200;
    expect(store.get('k')).toBeUndefined();
    const result = await pending;
    expect({ result, after: store.getEntry('k') }).toEqual({ result: { ok: false, conflicts: ['k'] }, after: undefined });
    await store.close();
  });
});
