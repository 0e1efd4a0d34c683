/**
 * TTL: an expired key is gone for every read the moment its time passes; active expiry then removes
 * it with a delete record marked expired; expiry times are absolute and survive restarts, snapshots
 * and power loss; recovery never brings an expired key back; the clock never goes backwards.
 */
import { describe, expect, it } from 'vitest';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { DurableKVStore, type StoreOptions } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';

const dir = '/db';

/** A clock the test moves by hand. */
function manualClock(startMs = 1_700_000_000_000) {
  const clock = { now: startMs, read: () => clock.now };
  return clock;
}

async function open(fs: MemoryFileSystem, options: StoreOptions = {}) {
  return (await DurableKVStore.open(dir, { fs, ...options })) as DurableKVStore<string>;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('reads', () => {
  it('an expired key is gone for get, has, getEntry, range, keys, entries and values at once', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('a', '1', { ttlMs: 100 });
    await store.put('b', '2');
    await store.put('c', '3', { expiresAt: clock.now + 200 });
    expect(store.getEntry('a')?.expiresAt).toBe(clock.now + 100);
    expect([...store.keys()]).toEqual(['a', 'b', 'c']);
    clock.now += 100;
    expect(store.get('a')).toBeUndefined();
    expect(store.has('a')).toBe(false);
    expect(store.getEntry('a')).toBeUndefined();
    expect([...store.keys()]).toEqual(['b', 'c']);
    expect([...store.range({ limit: 1 })]).toEqual([['b', '2']]);
    expect([...store.values()]).toEqual(['2', '3']);
    expect([...store.entries({ reverse: true })]).toEqual([
      ['c', '3'],
      ['b', '2'],
    ]);
    // size counts keys not yet removed: active expiry has not run (its interval is a minute here).
    expect(store.size).toBe(3);
    await store.close();
  });

  it('a put without TTL options clears the expiry; keepTtl keeps it', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read });
    await store.put('k', '1', { ttlMs: 1000 });
    await store.put('k', '2', { keepTtl: true });
    expect(store.getEntry('k')).toMatchObject({ value: '2', expiresAt: clock.now + 1000 });
    await store.put('k', '3');
    expect(store.getEntry('k')?.expiresAt).toBeNull();
    await store.put('fresh', 'x', { keepTtl: true });
    expect(store.getEntry('fresh')?.expiresAt).toBeNull();
    await store.close();
  });
});

describe('expire', () => {
  it('sets, moves and removes an expiry, keeping the value, with a new version', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read });
    await store.put('k', 'v');
    const before = store.getEntry('k');
    const result = await store.expire('k', { ttlMs: 500 });
    expect(result.ok).toBe(true);
    expect(store.getEntry('k')).toEqual({ value: 'v', version: (result as { seq: number }).seq, expiresAt: clock.now + 500 });
    expect(store.getEntry('k')?.version).toBeGreaterThan(before?.version as number);
    await store.expire('k', { expiresAt: clock.now + 50 });
    expect(store.getEntry('k')?.expiresAt).toBe(clock.now + 50);
    await store.expire('k', null);
    expect(store.getEntry('k')?.expiresAt).toBeNull();
    clock.now += 10_000;
    expect(store.get('k')).toBe('v');
    await store.close();
  });

  it('resolves { ok: false, conflicts: [key] } for a missing or expired key, writing nothing', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read });
    const seq = store.stats().lastSeq;
    expect(await store.expire('missing', { ttlMs: 5 })).toEqual({ ok: false, conflicts: ['missing'] });
    expect(store.stats().lastSeq).toBe(seq);
    await store.put('t', 'v', { ttlMs: 5 });
    clock.now += 5;
    expect(await store.expire('t', null)).toEqual({ ok: false, conflicts: ['t'] });
    expect(store.get('t')).toBeUndefined();
    await store.close();
  });
});

describe('bad TTL options', () => {
  it('are ERR_INVALID_ARG at the call, and nothing is written', async () => {
    const store = await open(new MemoryFileSystem());
    const seq = store.stats().lastSeq;
    const calls: Array<() => Promise<unknown>> = [
      () => store.put('k', 'v', { ttlMs: 0 }),
      () => store.put('k', 'v', { ttlMs: -5 }),
      () => store.put('k', 'v', { ttlMs: 1.5 }),
      () => store.put('k', 'v', { ttlMs: 10, expiresAt: Date.now() + 10 }),
      () => store.put('k', 'v', { keepTtl: true, ttlMs: 10 }),
      () => store.put('k', 'v', { expiresAt: 'soon' as never }),
      () => store.put('k', 'v', { expiresAt: 0 }),
      () => store.expire('k', {} as never),
      () => store.expire('k', undefined as never),
      () => store.expire('k', { ttlMs: Number.NaN }),
      () => store.increment('k', 1, { ttlMs: 1, expiresAt: 5 }),
      () => store.batch([{ type: 'put', key: 'k', value: 'v', ttlMs: -1 }]),
    ];
    for (const call of calls) expectCode(await rejectionOf(call), 'ERR_INVALID_ARG');
    expect(store.stats().lastSeq).toBe(seq);
    await store.close();
  });
});

describe('active expiry', () => {
  it('removes expired keys within about a second, as delete records marked expired in the change feed', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 20 });
    const expiredDeletes = firstValueFrom(
      store.changes().pipe(
        filter((change) => change.ops.some((op) => op.type === 'delete')),
        take(1),
        toArray(),
      ),
    );
    await store.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `s${i}`, value: 'x', ttlMs: 1000 })));
    await store.put('keep', 'forever');
    expect(store.size).toBe(101);
    clock.now += 1000;
    await until(() => store.size === 1);
    const [change] = await expiredDeletes;
    expect(change.ops.every((op) => op.type === 'delete' && op.expired === true)).toBe(true);
    expect(store.get('keep')).toBe('forever');
    await store.close();
  });

  it('does not remove a key rewritten after active expiry saw it expire', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 10 });
    await store.put('k', 'old', { ttlMs: 10 });
    clock.now += 10;
    // Rewritten at once: the expiry's delete, if it was sequenced after this, must find a new version.
    await store.put('k', 'new');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.get('k')).toBe('new');
    await store.close();
  });
});

describe('across restarts', () => {
  it('expiry times are absolute: a restart does not extend a life, and recovery never brings an expired key back', async () => {
    const clock = manualClock();
    const fs = new MemoryFileSystem();
    const store = await open(fs, { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('short', 'x', { ttlMs: 100 });
    await store.put('long', 'y', { ttlMs: 10_000 });
    await store.snapshot();
    await store.put('wal-only', 'z', { ttlMs: 100 });
    await store.close();
    clock.now += 100;
    const reopened = await open(fs, { clock: clock.read, expiryIntervalMs: 60_000 });
    expect(reopened.get('short')).toBeUndefined();
    expect(reopened.get('wal-only')).toBeUndefined();
    expect(reopened.getEntry('long')?.expiresAt).toBe(clock.now - 100 + 10_000);
    await reopened.close();
  });

  it('after a power loss, every acknowledged expiry is there', async () => {
    const clock = manualClock();
    const fs = new MemoryFileSystem();
    const store = await open(fs, { clock: clock.read });
    await store.put('a', '1', { ttlMs: 5000 });
    await store.put('b', '2');
    await store.expire('b', { expiresAt: clock.now + 7000 });
    await store.increment('c', 1, { ttlMs: 9000 });
    const entries = ['a', 'b', 'c'].map((key) => store.getEntry(key));
    fs.crash();
    const recovered = await open(fs, { clock: clock.read });
    expect(['a', 'b', 'c'].map((key) => recovered.getEntry(key))).toEqual(entries);
    await recovered.close();
  });

  it('active expiry removes keys that expired while the store was closed', async () => {
    const clock = manualClock();
    const fs = new MemoryFileSystem();
    const store = await open(fs, { clock: clock.read });
    await store.put('gone', 'x', { ttlMs: 10 });
    await store.close();
    clock.now += 10;
    const reopened = await open(fs, { clock: clock.read, expiryIntervalMs: 10 });
    await until(() => reopened.size === 0);
    await reopened.close();
  });
});

describe('the clock', () => {
  it('never goes backwards: a key seen expired stays expired when the system clock steps back', async () => {
    const clock = manualClock();
    const store = await open(new MemoryFileSystem(), { clock: clock.read, expiryIntervalMs: 60_000 });
    await store.put('k', 'v', { ttlMs: 100 });
    clock.now += 100;
    expect(store.get('k')).toBeUndefined();
    clock.now -= 1000;
    expect(store.get('k')).toBeUndefined();
    expect(store.has('k')).toBe(false);
    await store.close();
  });
});
