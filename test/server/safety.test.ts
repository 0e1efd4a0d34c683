/**
 * Safe by default: a password gates everything but AUTH/HELLO/QUIT; malformed input gets Redis's
 * protocol error and a closed connection while the server and other clients carry on, with nothing
 * stored changed; a client that never reads is cut off; maxClients holds; an open bind needs a
 * password.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { serveResp } from '../../src/server/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { rawExchange, type Served, served } from './helpers.js';

let serving: Served | undefined;
const clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await serving?.close();
  serving = undefined;
});

function client(port: number, options: { password?: string } = {}): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  redis.on('error', () => {}); // connections these tests cut off report it here
  clients.push(redis);
  return redis;
}

const replyError = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: Error) => error.message,
  );

describe('a password', () => {
  it('refuses commands before AUTH, refuses a wrong password, and serves after the right one', async () => {
    serving = await served({ password: 's3cret' });
    const { reply } = await rawExchange(serving.port, 'GET k\r\nAUTH wrong\r\nAUTH default wrong\r\nAUTH s3cret\r\nSET k v\r\nGET k\r\n');
    expect(reply).toBe(
      [
        '-NOAUTH Authentication required.',
        '-WRONGPASS invalid username-password pair or user is disabled.',
        '-WRONGPASS invalid username-password pair or user is disabled.',
        '+OK',
        '+OK',
        '$1',
        'v',
        '',
      ].join('\r\n'),
    );
    expect(await client(serving.port, { password: 's3cret' }).get('k')).toBe('v');
  });

  it('allows an unauthenticated connection only small requests (CVE-2021-32675), and closes it otherwise', async () => {
    serving = await served({ password: 's3cret' });
    const tooMany = `*11\r\n${'$1\r\nx\r\n'.repeat(11)}`;
    expect(await rawExchange(serving.port, tooMany)).toEqual({
      reply: '-ERR Protocol error: unauthenticated multibulk length\r\n',
      closed: true,
    });
    const tooBig = `*2\r\n$4\r\nAUTH\r\n$20000\r\n${'x'.repeat(20_000)}\r\n`;
    expect(await rawExchange(serving.port, tooBig)).toEqual({
      reply: '-ERR Protocol error: unauthenticated bulk length\r\n',
      closed: true,
    });
  });

  it('reads what follows AUTH in the same write under the limits AUTH lifted, as Redis does', async () => {
    serving = await served({ password: 's3cret' });
    const big = 'x'.repeat(20_000);
    const { reply } = await rawExchange(serving.port, `AUTH s3cret\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n${big}\r\nGET k\r\n`);
    expect(reply).toBe(`+OK\r\n+OK\r\n$20000\r\n${big}\r\n`);
  });

  it('HELLO with AUTH and a bad option authenticates nobody', async () => {
    serving = await served({ password: 's3cret' });
    const { reply } = await rawExchange(serving.port, 'HELLO 2 AUTH default s3cret BOGUS\r\nGET k\r\n');
    expect(reply).toBe("-ERR Syntax error in HELLO option 'BOGUS'\r\n-NOAUTH Authentication required.\r\n");
  });

  it('AUTH without a configured password says so, in Redis words', async () => {
    serving = await served();
    expect(await replyError(client(serving.port).auth('x'))).toBe(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  });

  it('is required to listen anywhere but loopback', async () => {
    const store = await DurableKVStore.open('/db', { fs: new MemoryFileSystem() });
    await expect(serveResp(store, { port: 0, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'ERR_UNSAFE_BIND' });
    await expect(serveResp(store, { port: 0, host: 'example.com' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(serveResp(store, { port: 70_000 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await store.close();
  });
});

describe('malformed input', () => {
  it.each([
    ['a count that is not a number', '*abc\r\n', 'invalid multibulk length'],
    ['a count past INT_MAX', '*3000000000\r\n', 'invalid multibulk length'],
    ['a simple string for an argument', '*1\r\n+PING\r\n', "expected '$', got '+'"],
    ['a negative bulk length', '*1\r\n$-5\r\n', 'invalid bulk length'],
    ['an unbalanced quote', 'SET k "unbalanced\r\n', 'unbalanced quotes in request'],
    ['a 70 KB inline line', 'x'.repeat(70_000), 'too big inline request'],
  ])("%s: Redis's protocol error, then the connection closes; the server serves on and nothing changes", async (_name, input, message) => {
    serving = await served();
    const other = client(serving.port);
    await other.set('kept', 'value');
    expect(await rawExchange(serving.port, input)).toEqual({ reply: `-ERR Protocol error: ${message}\r\n`, closed: true });
    expect(await other.get('kept')).toBe('value');
    expect(await other.dbsize()).toBe(1);
  });

  it('answers the commands before the damage, then the error', async () => {
    serving = await served();
    const { reply, closed } = await rawExchange(serving.port, 'SET a 1\r\nPING\r\n*1\r\n$x\r\n');
    expect(reply).toBe('+OK\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n');
    expect(closed).toBe(true);
    expect(serving.store.get('a')).toBe('1');
  });

  it('answers everything a client sent before ending its side (printf … | nc), then closes', async () => {
    serving = await served();
    const { reply, closed } = await rawExchange(serving.port, 'SET a 1\r\nINCR n\r\nGET a\r\n', 1_000, { endAfterWrite: true });
    expect(reply).toBe('+OK\r\n:1\r\n$1\r\n1\r\n');
    expect(closed).toBe(true);
  });

  it('takes inline commands typed into nc, quotes and all', async () => {
    serving = await served();
    const { reply } = await rawExchange(serving.port, 'PING\nSET "two words" \'it\\\'s\'\r\nGET "two words"\r\n\r\n');
    expect(reply).toBe("+PONG\r\n+OK\r\n$4\r\nit's\r\n");
  });
});

describe('limits', () => {
  it('cuts off a client that never reads its replies, and others carry on', async () => {
    serving = await served({ outputStallMs: 300 });
    await serving.store.put('big', 'x'.repeat(1024 * 1024));
    const hog = net.connect(serving.port, '127.0.0.1');
    hog.pause(); // never reads
    await new Promise((resolve) => hog.once('connect', resolve));
    hog.on('error', () => {});
    const request = '*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(64);
    for (let i = 0; i < 20 && !hog.destroyed; i++) hog.write(request);
    const other = client(serving.port);
    expect(await other.get('big')).toHaveLength(1024 * 1024);
    // The hog reads nothing, so it would never see its own end: watch the server's count instead.
    while (serving.server.clients > 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(serving.server.clients).toBe(1);
    hog.destroy();
    expect(await other.ping()).toBe('PONG');
  });

  it('refuses the connection past maxClients with Redis error text', async () => {
    serving = await served({ maxClients: 2 });
    const first = client(serving.port);
    const second = client(serving.port);
    await Promise.all([first.ping(), second.ping()]);
    expect(await rawExchange(serving.port, 'PING\r\n')).toEqual({ reply: '-ERR max number of clients reached\r\n', closed: true });
    expect(await first.ping()).toBe('PONG');
  });

  it('closes connections idle past idleTimeoutMs', async () => {
    serving = await served({ idleTimeoutMs: 100 });
    const { closed } = await rawExchange(serving.port, 'PING\r\n', 1_000);
    expect(closed).toBe(true);
  });
});
