/**
 * The owner bounds the requests in flight per port and refuses beyond it with ERR_STORE_OVERLOADED,
 * applying nothing of a refused request; room frees up as replies go out.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore, StoreOverloadedError } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { requestsInFlightMaxDefault } from '../../src/worker/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';
import { rejectionOf } from '../helpers/errors.js';
import { closeAfterTest } from '../helpers/temp-dir.js';
import { connectInThread } from './in-thread.js';

describe('requests in flight per port', () => {
  it('refuses requests beyond requestsInFlightMax with ERR_STORE_OVERLOADED, and applies none of them', async () => {
    const gated = new GatedFileSystem(new MemoryFileSystem());
    const store = await DurableKVStore.open('/db', { fs: gated });
    closeAfterTest({
      close: () => {
        gated.releaseAll();
        return store.close();
      },
    });
    const { remote, server } = connectInThread(store, { requestsInFlightMax: 3 });
    gated.holdSyncs('.wal'); // no write completes until released: the first three stay in flight

    const accepted = ['a', 'b', 'c'].map((key) => remote.put(key, key));
    const outcomes: unknown[] = [];
    for (const key of ['d', 'e'])
      remote.put(key, key).then(
        () => outcomes.push('applied'),
        (error: unknown) => outcomes.push(error),
      );
    const probe = await rejectionOf(remote.has('a')); // refused as well; its reply comes after theirs
    for (const error of [...outcomes, probe]) {
      expect(error).toBeInstanceOf(StoreOverloadedError);
      expect((error as StoreOverloadedError).code).toBe('ERR_STORE_OVERLOADED');
    }
    expect(outcomes).toHaveLength(2);
    expect(server.requestsInFlight).toBe(3);

    gated.releaseAll();
    await Promise.all(accepted);
    expect([...store.keys()]).toEqual(['a', 'b', 'c']);
    expect(server.requestsInFlight).toBe(0);
    await remote.put('f', 'f'); // room again once replies went out
    expect(store.get('f')).toBe('f');
  });

  it('has room for a few thousand concurrent calls by default', async () => {
    expect(requestsInFlightMaxDefault).toBeGreaterThanOrEqual(1000);
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const { remote } = connectInThread(store);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => remote.put(`k${i}`, String(i))));
    expect(store.size).toBe(2000);
  });

  it('refuses a bound that is not a positive integer', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    for (const requestsInFlightMax of [0, -1, 1.5, Number.NaN]) {
      expect(() => connectInThread(store, { requestsInFlightMax })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    }
  });
});
