/**
 * `readView()`: the store frozen at one moment. Point reads and ranges on a view answer as the store
 * was at the call, through later puts, deletes, range deletes, expiry, disk snapshots and binary
 * values changed by the caller; a view refuses reads once the store is closed.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { ManualClock, MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, thrownBy } from '../helpers/errors.js';

const dir = '/db';

async function storeWith(entries: Record<string, string>, options: { clock?: () => number } = {}) {
  const store = (await DurableKVStore.open(dir, {
    fs: new MemoryFileSystem(),
    expiryIntervalMs: 60_000,
    ...options,
  })) as DurableKVStore<string>;
  await store.batch(Object.entries(entries).map(([key, value]) => ({ type: 'put' as const, key, value })));
  return store;
}

describe('a view sees the store as it was when taken', () => {
  it('through later puts, deletes and range deletes', async () => {
    const store = await storeWith({ a: '1', b: '2', c: '3', d: '4' });
    const view = store.readView();
    await store.put('a', 'changed');
    await store.delete('b');
    await store.put('e', '5');
    await store.deleteRange({ gte: 'c', lt: 'd' });
    expect([view.get('a'), view.get('b'), view.get('c'), view.get('e')]).toEqual(['1', '2', '3', undefined]);
    expect([view.has('b'), view.has('e')]).toEqual([true, false]);
    expect([...view.range()]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
    ]);
    expect([...view.keys({ gt: 'a', reverse: true, limit: 2 })]).toEqual(['d', 'c']);
    expect([...view.values({ lte: 'b' })]).toEqual(['1', '2']);
    // The store itself moved on.
    expect([...store.keys()]).toEqual(['a', 'd', 'e']);
    await store.close();
  });

  it('gives versions and expiry as of the view', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = await storeWith({}, { clock: clock.now });
    const first = await store.put('k', 'v1', { ttlMs: 1_000 });
    const view = store.readView();
    await store.put('k', 'v2');
    expect(view.getEntry('k')).toEqual({ value: 'v1', version: first.ok ? first.seq : -1, expiresAt: 1_700_000_001_000 });
    expect(store.getEntry('k')?.value).toBe('v2');
    await store.close();
  });

  it('judges expiry at the moment it was taken: a key that expires later still shows', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = await storeWith({}, { clock: clock.now });
    await store.put('soon', 'x', { ttlMs: 100 });
    await store.put('gone', 'y', { ttlMs: 10 });
    clock.advance(50);
    const view = store.readView();
    clock.advance(100);
    expect(store.get('soon')).toBeUndefined();
    expect(view.get('soon')).toBe('x');
    expect(view.get('gone')).toBeUndefined();
    expect([...view.keys()]).toEqual(['soon']);
    await store.close();
  });

  it('is unaffected by a disk snapshot taken while it is held', async () => {
    const store = await storeWith({ a: '1' });
    const view = store.readView();
    const snapshotting = store.snapshot();
    await store.put('a', '2');
    await store.put('b', '3');
    await snapshotting;
    await store.put('a', '4');
    expect([...view.range()]).toEqual([['a', '1']]);
    expect(store.readView().get('a')).toBe('4');
    await store.close();
  });

  it('hands out copies of binary values: changing one read changes nothing stored or seen', async () => {
    const store = (await DurableKVStore.open(dir, { fs: new MemoryFileSystem(), valueEncoding: 'binary' })) as DurableKVStore<Uint8Array>;
    await store.put('k', new Uint8Array([1, 2, 3]));
    const view = store.readView();
    const read = view.get('k');
    read?.fill(9);
    expect([...(view.get('k') ?? [])]).toEqual([1, 2, 3]);
    expect([...(store.get('k') ?? [])]).toEqual([1, 2, 3]);
    await store.close();
  });
});

describe('a view checks its arguments and the store', () => {
  it('refuses a non-string key and bad range options with ERR_INVALID_ARG, at the call', async () => {
    const store = await storeWith({ a: '1' });
    const view = store.readView();
    expectCode(
      thrownBy(() => view.get(1 as unknown as string)),
      'ERR_INVALID_ARG',
    );
    expectCode(
      thrownBy(() => view.range({ limit: -2 })),
      'ERR_INVALID_ARG',
    );
    await store.close();
  });

  it('refuses reads once the store is closed (ERR_STORE_CLOSED), and cannot be taken then', async () => {
    const store = await storeWith({ a: '1' });
    const view = store.readView();
    await store.close();
    expectCode(
      thrownBy(() => view.get('a')),
      'ERR_STORE_CLOSED',
    );
    expectCode(
      thrownBy(() => view.keys()),
      'ERR_STORE_CLOSED',
    );
    expectCode(
      thrownBy(() => store.readView()),
      'ERR_STORE_CLOSED',
    );
  });
});
