/**
 * The parser bounds each bulk (valueBytesMax, 16 MiB) and the argument count (1 Mi) but nothing
 * bounds a request's total: up to 1 Mi × 16 MiB is buffered for one incomplete request, and the
 * connection never checks parser.bufferedBytes (the parser's own comment says the server needs
 * its cap, "as Redis has client-query-buffer-limit"). Any local client (no password by default)
 * can make the server allocate until it dies. Here: 320 MiB for one never-finished MSET.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';

let serving: Served | undefined;
let socket: net.Socket | undefined;
afterEach(async () => {
  socket?.destroy();
  await serving?.close();
  serving = undefined;
});

it('one client cannot make the server hold 320 MiB of an unfinished request', async () => {
  serving = await served();
  socket = net.connect(serving.port, '127.0.0.1');
  socket.on('error', () => {});
  let closed = false;
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => socket?.once('connect', () => resolve()));
  global.gc?.();
  const before = process.memoryUsage().arrayBuffers;
  const bulk = Buffer.alloc(4 * 1024 * 1024, 0x61);
  const header = Buffer.from(`$${bulk.length}\r\n`);
  const trailer = Buffer.from('\r\n');
  socket.write('*1000001\r\n$4\r\nMSET\r\n');
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 80 && !closed && Date.now() < deadline; i++) {
    socket.write(header);
    socket.write(bulk);
    if (!socket.write(trailer))
      await new Promise((resolve) => {
        socket?.once('drain', resolve);
        socket?.once('close', resolve);
      });
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const grown = process.memoryUsage().arrayBuffers - before;
  // The server cuts the client off past its query-buffer bound (256 MiB: no bigger request fits one WAL record).
  expect(closed).toBe(true);
  void grown;
});
