/**
 * Blind writes (SET, MSET, INCR, …) are handed to the store without waiting, and nothing bounds how
 * many of one connection's writes are in flight: the inbox bound counts commands not yet RUN, and
 * #outputRoom counts only bytes already in the socket. A client streaming writes faster than the
 * WAL commits them (`redis-cli --pipe`, a bulk loader) fills the store's mailbox, and its own later
 * writes — and every other client's — are refused with ERR_STORE_OVERLOADED instead of the
 * connection simply pausing its reads (Redis never refuses a write for this).
 * A small mailbox (1,000 writes) makes it happen with a 3,000-command pipeline; the default
 * (1,000,000) makes it take longer, with ~1 M pending promises and reply slots on the heap.
 */
import { afterEach, expect, it } from 'vitest';
import { DurableKVStore } from '../../../src/index.js';
import { type RespServer, serveResp } from '../../../src/server/index.js';
import { MemoryFileSystem } from '../../../src/testing/index.js';
import { rawExchange } from '../helpers.js';

let store: DurableKVStore<string> | undefined;
let server: RespServer | undefined;
afterEach(async () => {
  await server?.close();
  await store?.close();
  server = undefined;
  store = undefined;
});

it('a 3,000-SET pipeline gets 3,000 OKs, whatever the mailbox size', async () => {
  store = await DurableKVStore.open('/db', { fs: new MemoryFileSystem(), autoSnapshot: false, mailboxWritesMax: 1000 });
  server = await serveResp(store, { port: 0 });
  const port = (server.address() as { port: number }).port;
  let pipeline = '';
  for (let i = 0; i < 3000; i++) pipeline += `SET key:${i} ${i}\r\n`;
  // Ending our side after the write: the server answers everything, then closes (no idle guess on a loaded machine).
  const { reply } = await rawExchange(port, pipeline, 10_000, { endAfterWrite: true });
  const lines = reply.split('\r\n').filter((line) => line.length > 0);
  const refused = lines.filter((line) => line !== '+OK');
  expect(refused.slice(0, 1)).toEqual([]);
  expect(lines.length).toBe(3000);
});
