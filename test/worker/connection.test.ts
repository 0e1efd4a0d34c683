/**
 * The connection's lifetime: whichever side ends it, calls pending on the client settle with
 * ERR_STORE_CLOSED (none hangs) and later calls are refused at once; the owner's store is only ever
 * closed by the owner.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore, StoreClosedError } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';
import { rejectionOf } from '../helpers/errors.js';
import { closeAfterTest } from '../helpers/temp-dir.js';
import { connectInThread } from './in-thread.js';

async function heldStore(): Promise<{ store: DurableKVStore; gated: GatedFileSystem }> {
  const gated = new GatedFileSystem(new MemoryFileSystem());
  const store = await DurableKVStore.open('/db', { fs: gated });
  closeAfterTest({
    close: () => {
      gated.releaseAll();
      return store.close();
    },
  });
  gated.holdSyncs('.wal');
  return { store, gated };
}

function expectClosed(error: Error & { code?: string }): void {
  expect(error).toBeInstanceOf(StoreClosedError);
  expect(error.code).toBe('ERR_STORE_CLOSED');
}

describe('the client closing', () => {
  it('rejects its pending and later calls with ERR_STORE_CLOSED, and leaves the store open', async () => {
    const { store, gated } = await heldStore();
    const { remote, server } = connectInThread(store);
    const pending = rejectionOf(remote.put('a', '1'));
    await gated.heldSyncs(1); // the put reached the owner and waits for its fsync

    await remote.close();
    expectClosed(await pending);
    expectClosed(await rejectionOf(remote.get('a')));
    expect(remote.closed).toBe(true);
    await server.stopped;

    gated.releaseAll();
    expect(store.state).toBe('ready');
    await store.put('b', '2');
    expect(store.get('a')).toBe('1'); // a write sent before the close was still applied on the owner
    await remote.close(); // again: fine
  });
});

describe('the owner stopping the server', () => {
  it('rejects the client’s pending calls with ERR_STORE_CLOSED', async () => {
    const { store, gated } = await heldStore();
    const { remote, server } = connectInThread(store);
    const pending = rejectionOf(remote.put('a', '1'));
    await gated.heldSyncs(1);
    server.close();
    expectClosed(await pending);
    expectClosed(await rejectionOf(remote.has('a')));
    expect(store.state).toBe('ready');
  });
});

describe('the owner closing the store', () => {
  it('answers the writes in flight (close drains them), then closes the port: later calls get ERR_STORE_CLOSED', async () => {
    // Writes that reach the owner after close() began are refused with ERR_STORE_CLOSED, as local ones are.
    const { store, gated } = await heldStore();
    const { remote, server } = connectInThread(store);
    const writes = ['a', 'b', 'c'].map((key) => remote.put(key, key));
    await remote.has('a'); // answered after the puts before it were handed to the store: all three are in flight
    expect(server.requestsInFlight).toBe(3);

    const closed = store.close();
    gated.releaseAll();
    await closed;
    await Promise.all(writes); // acknowledged, as a local put in flight at close is
    await server.stopped;
    expectClosed(await rejectionOf(remote.get('a')));
    expectClosed(await rejectionOf(remote.put('d', 'd')));
    expect(remote.closed).toBe(true);
  });

  it('stops listening to the store once stopped', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const before = store.listenerCount('state');
    const { remote, server } = connectInThread(store);
    expect(store.listenerCount('state')).toBe(before + 1);
    await remote.close();
    await server.stopped;
    expect(store.listenerCount('state')).toBe(before);
  });

  it('closes the port at once when served a store that is already closed', async () => {
    const store = await DurableKVStore.open('/db', { fs: new MemoryFileSystem() });
    await store.close();
    const { remote, server } = connectInThread(store);
    await server.stopped;
    expectClosed(await rejectionOf(remote.stats()));
  });
});
