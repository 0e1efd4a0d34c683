/**
 * A write's reply is sent only once the write is durable: with `sync: 'always'`, only after the
 * WAL's fdatasync resolved. The file system here holds every sync until the test lets it go; a
 * reply that arrived before would be an acknowledgement of a write a power loss could take back.
 * And after a power loss (the in-memory file system's crash), every write a client saw OK for is
 * there.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { serveResp } from '../../src/server/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';

describe('durable replies', () => {
  it('sends OK for SET, and the result of INCR and MSET, only after the fdatasync', async () => {
    const fs = new MemoryFileSystem();
    const gated = new GatedFileSystem(fs);
    const store = await DurableKVStore.open('/db', { fs: gated, autoSnapshot: false, sync: 'always' });
    const server = await serveResp(store, { port: 0 });
    const port = (server.address() as { port: number }).port;
    const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    await redis.ping();
    gated.holdSyncs('.wal');
    const replies: string[] = [];
    const set = redis.set('k', 'v').then((reply) => replies.push(`set ${reply}`));
    const incr = redis.incr('n').then((reply) => replies.push(`incr ${reply}`));
    const mset = redis.mset('a', '1', 'b', '2').then((reply) => replies.push(`mset ${reply}`));
    await gated.heldSyncs(1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // time enough for a premature reply to arrive
    expect(replies).toEqual([]);
    // The server is live meanwhile: another connection is served (this one's replies keep their order).
    const other = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    expect(await other.ping()).toBe('PONG');
    other.disconnect();
    gated.releaseAll();
    await Promise.all([set, incr, mset]);
    expect(replies).toEqual(['set OK', 'incr 1', 'mset OK']);
    redis.disconnect();
    await server.close();
    // Power loss: only what was synced survives; every write that got its reply is there.
    fs.crash();
    const reopened = await DurableKVStore.open('/db', { fs, autoSnapshot: false });
    expect([reopened.get('k'), reopened.get('n'), reopened.get('a'), reopened.get('b')]).toEqual(['v', '1', '1', '2']);
    await reopened.close();
  });
});
