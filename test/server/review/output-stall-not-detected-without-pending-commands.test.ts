/**
 * README: "a client that leaves 1 MiB of replies unread [outputStallMs] is disconnected". The stall
 * timer (#outputRoom) only runs from #drain, before the NEXT command: a client that sends one
 * command with a large reply (under outputBytesMax) and then never reads keeps that reply in the
 * server's memory for as long as it stays connected.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';
import { resp } from './raw-client.js';

let serving: Served | undefined;
let socket: net.Socket | undefined;
afterEach(async () => {
  socket?.destroy();
  await serving?.close();
  serving = undefined;
});

it('a client that leaves a 48 MiB reply unread is cut off after outputStallMs', async () => {
  serving = await served({ outputStallMs: 300 });
  await serving.store.put('big', 'x'.repeat(8 * 1024 * 1024));
  socket = net.connect(serving.port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket?.once('connect', () => resolve()));
  socket.pause(); // never reads
  socket.write(resp('MGET', 'big', 'big', 'big', 'big', 'big', 'big'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(serving.server.clients).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // five times outputStallMs
  expect(serving.server.clients).toBe(0);
});
