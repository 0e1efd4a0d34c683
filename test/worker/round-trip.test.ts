/**
 * Every RemoteStore method gives what the owner's store gives, for each value encoding, and values
 * cross intact. In-thread (MessageChannel): the same ports and cloning as across threads.
 */
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { serveStore, type StoreReply } from '../../src/worker/index.js';
import { closeAfterTest } from '../helpers/temp-dir.js';
import { connectInThread } from './in-thread.js';

describe('RemoteStore methods', () => {
  it('put, get, has and delete behave as on the owner', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const { remote } = connectInThread(store);
    await remote.put('a', 'one');
    expect(store.get('a')).toBe('one'); // durable and visible on the owner once put resolves
    expect(await remote.get('a')).toBe('one');
    expect(await remote.get('missing')).toBeUndefined();
    expect(await remote.has('a')).toBe(true);
    await remote.delete('a');
    await remote.delete('never-there'); // not an error, as on the owner
    expect(await remote.has('a')).toBe(false);
    expect(store.has('a')).toBe(false);
  });

  it('applies a batch whole, and snapshot and stats report the owner’s store', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const { remote } = connectInThread(store);
    await remote.batch([
      { type: 'put', key: 'x', value: '1' },
      { type: 'put', key: 'y', value: '2' },
      { type: 'delete', key: 'x' },
    ]);
    expect([...store.entries()]).toEqual([['y', '2']]);

    const snapshot = await remote.snapshot();
    expect(snapshot).toMatchObject({ seq: store.stats().lastSeq, keys: 1 });
    expect(await remote.stats()).toEqual(store.stats());
  });

  it('applies one client’s calls in the order they were made, without awaiting each', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const { remote } = connectInThread(store);
    const applied: string[] = [];
    const subscription = store.operations$.subscribe((event) => applied.push(event.type)); // in seq order
    const issued: string[] = [];
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      calls.push(remote.put('k', String(i)));
      issued.push('put');
      if (i % 3 === 0) {
        calls.push(remote.delete('k'), remote.put('k', `${i}'`));
        issued.push('delete', 'put');
      }
    }
    await Promise.all(calls);
    subscription.unsubscribe();
    expect(applied).toEqual(issued);
    expect(store.get('k')).toBe('199');
  });
});

describe('values across the port', () => {
  it('json values arrive as equal objects, not shared ones', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem(), valueEncoding: 'json' }));
    const { remote } = connectInThread(store);
    const value = { name: 'Ada', tags: ['x', 'y'], nested: { n: 1.5, ok: true, none: null } };
    await remote.put('u', value);
    value.tags.push('changed after put');
    expect(await remote.get('u')).toEqual({ name: 'Ada', tags: ['x', 'y'], nested: { n: 1.5, ok: true, none: null } });
  });

  it('binary values arrive byte-exact as Buffers, and the caller keeps its own buffer', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem(), valueEncoding: 'binary' }));
    const { remote } = connectInThread(store);
    const small = Buffer.from([1, 2, 3]); // a view into Node's shared pool
    const large = new Uint8Array(256 * 1024).map((_, i) => i % 251);
    await remote.put('small', small);
    await remote.put('large', large);
    await remote.batch([{ type: 'put', key: 'view', value: large.subarray(10, 20) }]);

    expect([...small]).toEqual([1, 2, 3]); // not detached by the transfer
    expect(large.byteLength).toBe(256 * 1024);
    const got = await remote.get('small');
    expect(Buffer.isBuffer(got)).toBe(true);
    expect(Buffer.from(got!).equals(small)).toBe(true);
    expect(got!.buffer.byteLength).toBe(3); // its own bytes only, not a pool slab
    expect(Buffer.from((await remote.get('large'))!).equals(Buffer.from(large))).toBe(true);
    expect([...(await remote.get('view'))!]).toEqual([...large.subarray(10, 20)]);
    expect([...store.get('small')!]).toEqual([1, 2, 3]); // the owner's copy is intact after the reply's transfer
  });

  it('utf8 strings keep every code point, and a lone surrogate is refused on the owner', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const { remote } = connectInThread(store);
    const text = 'héllo \u{1F600} \u0000 |\n';
    await remote.put(text, text);
    expect(await remote.get(text)).toBe(text);
    await expect(remote.put('k', '\uD800')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });
});

describe('the wire protocol', () => {
  /** Sends raw messages to a served port and collects the replies. */
  async function exchange(messages: unknown[], count: number): Promise<StoreReply[]> {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    // Present before the exchange: a get sent right behind an unacknowledged put need not see it.
    await store.put('k', 'v');
    const { port1, port2 } = new MessageChannel();
    serveStore(store, port1);
    const replies: StoreReply[] = [];
    const all = new Promise<void>((resolve) => {
      port2.on('message', (reply: StoreReply) => {
        replies.push(reply);
        if (replies.length === count) resolve();
      });
    });
    for (const message of messages) port2.postMessage(message);
    await all;
    port2.close();
    return replies;
  }

  it('answers { id, ok: true, result } and { id, ok: false, error: { code, message, name } }, matched by id', async () => {
    const replies = await exchange(
      [
        { id: 7, method: 'put', args: ['k', 'v'] },
        { id: 8, method: 'get', args: ['k'] },
        { id: 9, method: 'put', args: [1, 'v'] },
      ],
      3,
    );
    const byId = new Map(replies.map((reply) => [reply.id, reply]));
    expect(byId.get(7)).toEqual({ id: 7, ok: true, result: { ok: true, seq: expect.any(Number) } });
    expect(byId.get(8)).toEqual({ id: 8, ok: true, result: 'v' });
    expect(byId.get(9)).toMatchObject({
      id: 9,
      ok: false,
      error: { code: 'ERR_INVALID_ARG', name: 'InvalidArgumentError', message: expect.any(String) },
    });
  });

  it('refuses a malformed request that has an id, and ignores one without', async () => {
    const replies = await exchange(
      [{ nonsense: true }, { id: 1, method: 'drop', args: [] }, { id: 2, method: 'get' }, { id: 3, method: 'has', args: ['k'] }],
      3,
    );
    expect(replies.map((reply) => [reply.id, reply.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(replies[0]).toMatchObject({ error: { code: 'ERR_INVALID_ARG' } });
  });
});
