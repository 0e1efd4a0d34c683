/**
 * After QUIT, #flush ends the socket (`socket.end(() => destroy())`) but the connection stays
 * subscribed until 'close'. A message published in between is enqueued and written after end():
 * ERR_STREAM_WRITE_AFTER_END destroys the socket, dropping every reply still buffered — the
 * subscriber's backlog and QUIT's own +OK. Redis stops adding replies to a CLOSE_AFTER_REPLY client
 * and writes what it had.
 *
 * A Unix socket keeps the kernel's buffer small, so a few hundred KB of backlog stay in Node's
 * buffer (under the 1 MB at which the server would stop reading QUIT).
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';

let serving: Served | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(where: string): Promise<{ socket: net.Socket; chunks: Buffer[] }> {
  const socket = net.connect(where);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, chunks };
}

it('a subscriber that QUITs gets its backlog and +OK even if a message is published meanwhile', async () => {
  const where = path.join(os.tmpdir(), `dkv-review2-${process.pid}-${Date.now()}.sock`);
  serving = await served({ port: undefined, unixSocket: where });
  const subscriber = await connect(where);
  const publisher = await connect(where);
  subscriber.socket.write('SUBSCRIBE ch\r\n');
  await sleep(50);
  subscriber.socket.pause(); // stops reading: a backlog builds
  const message = 'x'.repeat(64 * 1024);
  const count = 8; // 512 KB: more than the kernel holds, less than outputPauseBytes (1 MB)
  for (let i = 0; i < count; i++) publisher.socket.write(`*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$${message.length}\r\n${message}\r\n`);
  await sleep(200);
  subscriber.socket.write('QUIT\r\n');
  await sleep(200);
  publisher.socket.write(`PUBLISH ch late\r\n`); // delivered after QUIT's reply was written and end() called
  await sleep(200);
  const closed = new Promise<void>((resolve) => subscriber.socket.once('close', () => resolve()));
  subscriber.socket.resume();
  await Promise.race([closed, sleep(2000)]);
  const received = Buffer.concat(subscriber.chunks).toString('latin1');
  publisher.socket.destroy();
  subscriber.socket.destroy();
  expect(received.split(message).length - 1).toBe(count);
  expect(received.endsWith('+OK\r\n')).toBe(true);
});
