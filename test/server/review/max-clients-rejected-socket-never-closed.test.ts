/**
 * serve.ts accept(): past maxClients the socket gets `end(error)` and `resume()`, but the server
 * listens with allowHalfOpen: true and never destroys it, and it is not in `connections`. A client
 * that keeps its side open keeps the socket (and its fd) forever, beyond maxClients, and
 * server.close() — whose net.Server.close() waits for every socket — never resolves.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';

let serving: Served | undefined;
const sockets: net.Socket[] = [];
let redis: Redis | undefined;
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  redis?.disconnect();
  await serving?.close();
  serving = undefined;
});

it('server.close() finishes although a rejected client keeps its side open', async () => {
  serving = await served({ maxClients: 1 });
  redis = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  expect(await redis.ping()).toBe('PONG');
  const rejected = net.connect({ port: serving.port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(rejected);
  rejected.on('error', () => {});
  let text = '';
  rejected.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  await new Promise<void>((resolve) => rejected.once('end', () => resolve()));
  expect(text).toBe('-ERR max number of clients reached\r\n');
  const closed = await Promise.race([
    serving.server.close().then(() => 'closed'),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3000)),
  ]);
  expect(closed).toBe('closed');
});
