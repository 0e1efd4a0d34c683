/**
 * `server.close()` finishes what each connection sent: a command still waiting (a GET behind a SET
 * whose fsync has not returned) runs and is answered before the connection closes.
 */
import net from 'node:net';
import { expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { serveResp } from '../../src/server/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';

it('answers every command received before close(), then closes', async () => {
  const gated = new GatedFileSystem(new MemoryFileSystem());
  const store = await DurableKVStore.open('/db', { fs: gated, autoSnapshot: false });
  const server = await serveResp(store, { port: 0 });
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await new Promise((resolve) => socket.once('connect', resolve));
  gated.holdSyncs('.wal');
  socket.write('SET k v\r\nGET k\r\n');
  await gated.heldSyncs(1); // the SET waits for its fsync; the GET waits for the SET
  const closing = server.close();
  gated.releaseAll();
  await closing;
  await closed;
  expect(reply).toBe('+OK\r\n$1\r\nv\r\n');
  await store.close();
});
