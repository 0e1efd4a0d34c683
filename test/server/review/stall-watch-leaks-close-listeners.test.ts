/**
 * #watchStall (connection.ts) registers `socket.once('drain', clear)` and `socket.once('close',
 * clear)` each time the output passes outputPauseBytes, and removes neither when the other fires.
 * A long-lived subscriber that falls behind and catches up again keeps one more 'close' listener
 * (with its closure) per episode: unbounded growth, and Node's MaxListenersExceededWarning.
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

it('a subscriber that lags and catches up repeatedly does not pile up socket listeners', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    const where = path.join(os.tmpdir(), `dkv-review2-stall-${process.pid}-${Date.now()}.sock`);
    serving = await served({ port: undefined, unixSocket: where });
    const subscriber = net.connect(where);
    const publisher = net.connect(where);
    for (const socket of [subscriber, publisher]) socket.on('error', () => {});
    let received = 0;
    subscriber.on('data', (chunk: Buffer) => (received += chunk.length));
    publisher.on('data', () => {});
    subscriber.write('SUBSCRIBE ch\r\n');
    await sleep(50);
    const message = 'x'.repeat(64 * 1024);
    const request = `*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$${message.length}\r\n${message}\r\n`;
    for (let episode = 0; episode < 14; episode++) {
      subscriber.pause(); // falls behind: more than outputPauseBytes (1 MB) queued on the server
      for (let i = 0; i < 24; i++) publisher.write(request);
      await sleep(60);
      const before = received;
      subscriber.resume(); // catches up: 'drain' clears the stall timer
      while (received - before < 24 * message.length) await sleep(10);
    }
    await sleep(50);
    subscriber.destroy();
    publisher.destroy();
    expect(warnings.filter((each) => each.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  } finally {
    process.off('warning', onWarning);
  }
});
