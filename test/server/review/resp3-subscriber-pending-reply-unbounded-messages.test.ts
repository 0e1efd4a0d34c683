/**
 * A RESP3 subscriber may send any command. While one of its replies is pending (a write waiting for
 * its fsync, SAVE, FLUSHDB …), #flush writes nothing (the head slot has no reply yet), so every
 * message published to it piles up in #slots: never written, never counted against outputBytesMax,
 * no stall timer. Here outputBytesMax is 2 MB and 16 MB of messages are held for one connection,
 * which is not cut off.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { FileHandle } from '../../../src/fs/file-system.js';
import { MemoryFileSystem } from '../../../src/testing/index.js';
import { type Served, served } from '../helpers.js';

let serving: Served | undefined;
let release: () => void = () => {};
afterEach(async () => {
  release();
  await serving?.close();
  serving = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** fsync waits while `held` (a slow disk). */
class SlowSyncFs extends MemoryFileSystem {
  gate: Promise<void> | undefined;
  override async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const handle = await super.openAppend(filePath, create);
    return new Proxy(handle, {
      get: (target, name) => {
        if (name === 'sync')
          return async () => {
            if (this.gate !== undefined) await this.gate;
            return target.sync();
          };
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

it('messages to a RESP3 subscriber whose reply is pending are bounded by outputBytesMax', async () => {
  const fs = new SlowSyncFs();
  serving = await served({ outputBytesMax: 2 * 1024 * 1024 }, fs);
  const subscriber = net.connect(serving.port, '127.0.0.1');
  const publisher = net.connect(serving.port, '127.0.0.1');
  for (const socket of [subscriber, publisher]) socket.on('error', () => {});
  let published = '';
  publisher.on('data', (chunk: Buffer) => (published += chunk.toString('latin1')));
  let receivedBytes = 0;
  subscriber.on('data', (chunk: Buffer) => (receivedBytes += chunk.length));
  const closed = new Promise<boolean>((resolve) => subscriber.once('close', () => resolve(true)));
  subscriber.write('HELLO 3\r\nSUBSCRIBE ch\r\n');
  await sleep(100);
  fs.gate = new Promise<void>((resolve) => (release = resolve));
  subscriber.write('SET k v\r\n'); // its reply waits for the (slow) fsync
  await sleep(50);
  const message = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 16; i++) publisher.write(`*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$${message.length}\r\n${message}\r\n`);
  // Redis cuts such a client off at its output limit; so does this server (it held 16 MB before the fix).
  const cut = await Promise.race([closed, sleep(1500).then(() => false)]);
  const delivered = published.split(':1\r\n').length - 1;
  const receivedWhileHeld = receivedBytes;
  release();
  subscriber.destroy();
  publisher.destroy();
  // Messages were delivered to it (PUBLISH answered 1) until it was cut off, and it received none of them.
  expect(delivered).toBeGreaterThanOrEqual(2);
  expect(delivered).toBeLessThan(16);
  expect(receivedWhileHeld).toBeLessThan(1024);
  expect(cut).toBe(true);
});
