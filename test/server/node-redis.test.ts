/**
 * The server driven by node-redis (@redis/client), over a Unix socket and TCP, in RESP2 and RESP3.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, served } from './helpers.js';

let serving: Served;
let socketDir: string;

beforeAll(async () => {
  socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-sock-'));
  serving = await served({ unixSocket: path.join(socketDir, 'dkv.sock'), port: 0 });
});

afterAll(async () => {
  await serving.close();
  fs.rmSync(socketDir, { recursive: true, force: true });
});

describe('node-redis', () => {
  it('over the Unix socket: SET, GET, INCR, MGET, DEL, EXPIRE/TTL', async () => {
    const client = createClient({ socket: { path: path.join(socketDir, 'dkv.sock'), tls: false } });
    await client.connect();
    expect(await client.set('unix:k', 'v')).toBe('OK');
    expect(await client.get('unix:k')).toBe('v');
    expect(await client.incr('unix:n')).toBe(1);
    expect(await client.mGet(['unix:k', 'unix:none'])).toEqual(['v', null]);
    expect(await client.expire('unix:k', 60)).toBe(1);
    expect(await client.ttl('unix:k')).toBe(60);
    expect(await client.del(['unix:k', 'unix:n'])).toBe(2);
    client.destroy();
  });

  it('over TCP with RESP3 (HELLO 3): nulls, maps and the same answers', async () => {
    const client = createClient({ socket: { port: serving.port, host: '127.0.0.1' }, RESP: 3 });
    await client.connect();
    expect(await client.set('resp3:k', 'v', { condition: 'NX' })).toBe('OK');
    expect(await client.set('resp3:k', 'w', { condition: 'NX' })).toBeNull();
    expect(await client.get('resp3:none')).toBeNull();
    expect(await client.ping()).toBe('PONG');
    const hello = (await client.sendCommand(['HELLO', '3'])) as unknown;
    expect(hello).toMatchObject({ server: 'redis', proto: 3 });
    client.destroy();
  });
});
