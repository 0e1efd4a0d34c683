/**
 * Redis's RESET discards the MULTI in progress and unwatches every key (clearClientConnectionState
 * → discardTransaction). Here RESET leaves session.transaction and session.watched as they were.
 */
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';
import { RawClient, resp } from './raw-client.js';

let serving: Served | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await serving?.close();
  serving = undefined;
});

it('MULTI; RESET; SET k v runs the SET (the transaction is gone)', async () => {
  serving = await served();
  const a = await RawClient.connect(serving.port);
  clients.push(a);
  expect(await a.send(Buffer.concat([resp('MULTI'), resp('RESET'), resp('SET', 'k', 'v')]))).toBe('+OK\r\n+RESET\r\n+OK\r\n');
  expect(serving.store.get('k')).toBe('v');
});

it('WATCH w; RESET; (w changes); MULTI; SET j 1; EXEC commits (the watch is gone)', async () => {
  serving = await served();
  await serving.store.put('w', '1');
  const a = await RawClient.connect(serving.port);
  clients.push(a);
  expect(await a.send(Buffer.concat([resp('WATCH', 'w'), resp('RESET')]))).toBe('+OK\r\n+RESET\r\n');
  await serving.store.put('w', '2');
  expect(await a.send(Buffer.concat([resp('MULTI'), resp('SET', 'j', '1'), resp('EXEC')]))).toBe('+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n');
});
