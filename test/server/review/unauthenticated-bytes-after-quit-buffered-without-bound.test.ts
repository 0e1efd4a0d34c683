/**
 * With a password, the parser holds the bytes after each complete command until the drain runs it
 * (request-parser.ts `#held`, grown by Buffer.concat on every chunk). After QUIT the drain stops
 * (`#ending`), the inbox holds one command (below inboxCommandsMax, so reading never pauses), and
 * the socket — half-open, allowHalfOpen — keeps reading: after QUIT, the first chunk's first command
 * goes to the inbox and the rest of everything an unauthenticated client sends is appended to
 * `#held`, without bound (and with quadratic copying).
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

it('an unauthenticated client cannot make the server buffer 16 MiB after QUIT', async () => {
  serving = await served({ password: 's3cret' });
  socket = net.connect({ port: serving.port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket?.once('connect', () => resolve()));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write('QUIT\r\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(text).toBe('+OK\r\n');
  const before = process.memoryUsage().arrayBuffers;
  const piece = Buffer.from('PING\r\n'.repeat(10_000)); // 60 KB, one buffer written again and again
  const deadline = Date.now() + 6000;
  let sent = 0;
  while (sent < 16 * 1024 * 1024 && Date.now() < deadline && !socket.destroyed) {
    if (!socket.write(piece)) {
      await new Promise((resolve) => {
        socket?.once('drain', resolve);
        setTimeout(resolve, 200);
      });
    }
    sent += piece.length;
  }
  // Watch the server's memory while it reads what was sent: the kernel's socket buffers may hold a
  // few MiB, the server itself should hold next to nothing of it.
  let grownMax = 0;
  for (const stop = Date.now() + 3000; Date.now() < stop; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    grownMax = Math.max(grownMax, process.memoryUsage().arrayBuffers - before);
    if (grownMax > 8 * 1024 * 1024) break;
  }
  expect(grownMax).toBeLessThan(8 * 1024 * 1024);
});
