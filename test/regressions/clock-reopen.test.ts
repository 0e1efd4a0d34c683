/**
 * Regression (found by an independent review of the data model; fixed): the high-water mark is per Engine, not per process. A store closed and reopened in the
 * same process after the system clock stepped back brings back a key that was already seen expired
 * (its active-expiry delete not yet logged).
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

describe('the clock across close/open inside one process', () => {
  it('a key seen expired stays expired', async () => {
    const system = { now: 1_700_000_000_000 }; // the one system clock of this process
    const fs = new MemoryFileSystem();
    const options = { fs, clock: () => system.now, expiryIntervalMs: 60_000 };
    const store = (await DurableKVStore.open('/db', options)) as DurableKVStore<string>;
    await store.put('session', 'x', { ttlMs: 1000 });
    system.now += 2000;
    expect(store.get('session')).toBeUndefined();
    await store.close();
    system.now -= 1500; // NTP steps the clock back
    const reopened = (await DurableKVStore.open('/db', options)) as DurableKVStore<string>;
    const seen = reopened.get('session');
    await reopened.close();
    expect(seen).toBeUndefined();
  });
});
