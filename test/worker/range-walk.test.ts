/**
 * The client's side of a range walk, in-thread (MessageChannel: the same ports and cloning as across
 * threads): what a walk yields and when the owner's cursor is freed, however the walk is used.
 */
import { MessageChannel } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DurableKVStore, InvalidArgumentError, StoreClosedError } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { serveStore, type StoreReply, type StoreRequest } from '../../src/worker/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';
import { rejectionOf } from '../helpers/errors.js';
import { closeAfterTest } from '../helpers/temp-dir.js';
import { connectInThread } from './in-thread.js';

const key = (i: number) => `k${String(i).padStart(3, '0')}`;

async function filledStore(count: number): Promise<DurableKVStore> {
  const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
  await Promise.all(Array.from({ length: count }, (_, i) => store.put(key(i), String(i))));
  return store;
}

async function all<T>(walk: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of walk) items.push(item);
  return items;
}

describe('what a walk yields', () => {
  it('binary values arrive as Buffers of their own bytes, in range, values and getEntry', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem(), valueEncoding: 'binary' }));
    for (let i = 0; i < 12; i++) await store.put(key(i), Buffer.from([i, 1, 2]));
    const { remote } = connectInThread(store);
    const entries = await all(remote.range({ pageSize: 5 }));
    const values = await all(remote.values({ pageSize: 5 }));
    const entry = await remote.getEntry(key(3));
    for (const value of [...entries.map(([, v]) => v), ...values, entry?.value]) {
      expect(Buffer.isBuffer(value)).toBe(true);
      expect(value?.buffer.byteLength).toBe(3); // not a page's or a pool's buffer
    }
    expect(entries.map(([k, v]) => [k, [...v]])).toEqual([...store.range()].map(([k, v]) => [k, [...v]]));
    expect(entry).toEqual({ value: Buffer.from([3, 1, 2]), version: store.getEntry(key(3))?.version, expiresAt: null });
    expect([...store.get(key(3))!]).toEqual([3, 1, 2]); // the owner's copy is intact after the transfer
  });

  it('is the store as of the call: a write sent right after it is not seen, one awaited before it is', async () => {
    const store = await filledStore(10);
    const { remote } = connectInThread(store);
    await remote.put('a', 'before');
    const walk = remote.keys({ pageSize: 2 });
    const writes = [remote.put('b', 'after'), remote.delete(key(9)), remote.deleteRange({ prefix: 'k00' })];
    await Promise.all(writes);
    expect(await all(walk)).toEqual(['a', ...Array.from({ length: 10 }, (_, i) => key(i))]);
    expect(await all(remote.keys())).toEqual(['a', 'b']);
  });

  it('answers concurrent next() calls in order, each item once', async () => {
    const store = await filledStore(20);
    const { remote } = connectInThread(store);
    const walk = remote.keys({ pageSize: 7 });
    const results = await Promise.all(Array.from({ length: 23 }, () => walk.next()));
    expect(results.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => ({ done: false, value: key(i) })));
    expect(results.slice(20).every((result) => result.done)).toBe(true);
  });

  it('never throws at the call: its error rejects the first next(), and it is done after', async () => {
    const store = await filledStore(3);
    const { remote, server } = connectInThread(store);
    const walk = remote.range({ gt: 42 as unknown as string });
    const error = await rejectionOf(walk.next());
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.code).toBe('ERR_INVALID_ARG');
    expect(await walk.next()).toEqual({ done: true, value: undefined });
    remote.values({ pageSize: -1 }); // never read: its error is dropped, not an unhandled rejection
    await remote.keys({ pageSize: 1 }).return(); // resolves once the owner freed what the walk held
    expect(server.rangeCursorsOpen).toBe(0);
  });
});

describe('when the owner frees a walk’s cursor', () => {
  it('never holds one for a range that fits in its first page', async () => {
    const store = await filledStore(10);
    const { remote, server } = connectInThread(store);
    const walk = remote.keys({ pageSize: 10 });
    expect(await walk.next()).toEqual({ done: false, value: key(0) });
    expect(server.rangeCursorsOpen).toBe(0);
  });

  it('frees it with the last page, also when the range ends at a page boundary', async () => {
    const store = await filledStore(20);
    const { remote, server } = connectInThread(store);
    const walk = remote.keys({ pageSize: 10 });
    for (let i = 0; i < 10; i++) await walk.next();
    expect(server.rangeCursorsOpen).toBe(1);
    expect(await walk.next()).toEqual({ done: false, value: key(10) }); // the second page, the last
    expect(server.rangeCursorsOpen).toBe(0);
    expect((await all(walk)).length).toBe(9);
  });

  it('frees it on return(): before the first next(), during one, and twice', async () => {
    const store = await filledStore(30);
    const { remote, server } = connectInThread(store);
    const unread = remote.range({ pageSize: 5 });
    await unread.return();
    expect(server.rangeCursorsOpen).toBe(0);
    expect(await unread.next()).toEqual({ done: true, value: undefined });

    const walk = remote.values({ pageSize: 5 });
    const [first, returned, after] = await Promise.all([walk.next(), walk.return(), walk.next()]);
    expect(first).toEqual({ done: false, value: '0' });
    expect(returned).toEqual({ done: true, value: undefined });
    expect(after).toEqual({ done: true, value: undefined });
    expect(server.rangeCursorsOpen).toBe(0);
    await walk.return();
  });

  it('frees every cursor when the client closes; a walk then yields what it holds, then ERR_STORE_CLOSED', async () => {
    const store = await filledStore(30);
    const { remote, server } = connectInThread(store);
    const walks = [remote.keys({ pageSize: 4 }), remote.range({ pageSize: 4 })];
    for (const walk of walks) await walk.next();
    expect(server.rangeCursorsOpen).toBe(2);
    await remote.close();
    await server.stopped;
    expect(server.rangeCursorsOpen).toBe(0);
    const [walk] = walks;
    expect(await Promise.all([walk.next(), walk.next(), walk.next()])).toEqual(
      [key(1), key(2), key(3)].map((value) => ({ done: false, value })),
    );
    const error = await rejectionOf(walk.next());
    expect(error).toBeInstanceOf(StoreClosedError);
    expect(await walks[1].return()).toEqual({ done: true, value: undefined }); // no error: nothing is left to free
  });

  it('frees every cursor when the owner closes the store; the next page is ERR_STORE_CLOSED', async () => {
    const store = await DurableKVStore.open('/db', { fs: new MemoryFileSystem() });
    closeAfterTest(store);
    for (let i = 0; i < 10; i++) await store.put(key(i), String(i));
    const { remote, server } = connectInThread(store);
    const walk = remote.keys({ pageSize: 2 });
    await walk.next();
    await walk.next();
    await store.close();
    await server.stopped;
    expect(server.rangeCursorsOpen).toBe(0);
    expect((await rejectionOf(walk.next())).code).toBe('ERR_STORE_CLOSED');
  });

  it('frees it on return() also while the port is at requestsInFlightMax', async () => {
    const gated = new GatedFileSystem(new MemoryFileSystem());
    const store = await DurableKVStore.open('/db', { fs: gated });
    closeAfterTest({
      close: () => {
        gated.releaseAll();
        return store.close();
      },
    });
    for (let i = 0; i < 10; i++) await store.put(key(i), String(i));
    const { remote, server } = connectInThread(store, { requestsInFlightMax: 2 });
    const walk = remote.keys({ pageSize: 2 });
    await walk.next();
    gated.holdSyncs('.wal');
    const writes = [remote.put('a', 'a'), remote.put('b', 'b')];
    expect((await rejectionOf(remote.has('a'))).code).toBe('ERR_STORE_OVERLOADED'); // the port is full
    expect(server.requestsInFlight).toBe(2);
    await walk.return();
    expect(server.rangeCursorsOpen).toBe(0);
    gated.releaseAll();
    await Promise.all(writes);
  });

  it('frees it once a walk left unfinished, and not returned, is garbage-collected', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const store = await filledStore(30);
    const { remote, server } = connectInThread(store);
    const kept = remote.keys({ pageSize: 5 });
    await kept.next();
    await (async () => {
      const dropped = remote.keys({ pageSize: 5 });
      await dropped.next();
    })();
    expect(server.rangeCursorsOpen).toBe(2);
    for (let turn = 0; turn < 50 && server.rangeCursorsOpen > 1; turn++) {
      gc();
      await nextTurn();
      await remote.has('x'); // a round trip: the rangeClose sent meanwhile has arrived
    }
    expect(server.rangeCursorsOpen).toBe(1); // the one still referenced is kept
    expect(await kept.next()).toEqual({ done: false, value: key(1) });
  });
});

describe('range requests on the wire', () => {
  it('refuses an unknown kind or cursor, and closing a cursor that is not open is no error', async () => {
    const store = await filledStore(5);
    const { port1, port2 } = new MessageChannel();
    serveStore(store, port1);
    const replies = new Map<number, StoreReply>();
    const arrived = new Promise<void>((resolve) => {
      port2.on('message', (reply: StoreReply) => {
        replies.set(reply.id, reply);
        if (replies.size === 5) resolve();
      });
    });
    const requests: StoreRequest[] = [
      { id: 1, method: 'rangeOpen', args: ['rows', undefined, undefined] },
      { id: 2, method: 'rangeNext', args: [99] },
      { id: 3, method: 'rangeClose', args: [99] },
      { id: 4, method: 'rangeOpen', args: ['keys', { limit: 2 }, undefined] },
      { id: 5, method: 'rangeOpen', args: ['entries', {}, 2] },
    ];
    for (const request of requests) port2.postMessage(request);
    await arrived;
    port2.close();
    expect(replies.get(1)).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARG' } });
    expect(replies.get(2)).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARG' } });
    expect(replies.get(3)).toEqual({ id: 3, ok: true, result: undefined });
    expect(replies.get(4)).toEqual({ id: 4, ok: true, result: { keys: [key(0), key(1)], cursor: undefined } });
    expect(replies.get(5)).toEqual({
      id: 5,
      ok: true,
      result: {
        keys: [key(0), key(1)],
        values: ['0', '1'],
        cursor: expect.any(Number),
      },
    });
  });

  it('refuses a rangeCursorsMax that is not a positive integer', async () => {
    const store = await filledStore(0);
    for (const rangeCursorsMax of [0, -1, 1.5, Number.NaN]) {
      expect(() => connectInThread(store, { rangeCursorsMax })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    }
  });
});
