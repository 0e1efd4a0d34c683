/**
 * Pub/sub and keyspace notifications through real clients: SUBSCRIBE/PSUBSCRIBE/PUBLISH as Redis
 * answers them, the RESP2 subscribed context, and keyspace events fed from the store's change feed
 * (a write by any client, or by the store's own API, is announced).
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { rawExchange, type Served, served } from './helpers.js';

let serving: Served | undefined;
const clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await serving?.close();
  serving = undefined;
});

function client(port: number): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  clients.push(redis);
  return redis;
}

/** Collects messages a subscriber receives, for `ms`. */
function collect(subscriber: Redis, ms = 150): Promise<string[]> {
  const seen: string[] = [];
  subscriber.on('message', (channel: string, message: string) => seen.push(`message ${channel} ${message}`));
  subscriber.on('pmessage', (pattern: string, channel: string, message: string) => seen.push(`pmessage ${pattern} ${channel} ${message}`));
  return new Promise((resolve) => setTimeout(() => resolve(seen), ms));
}

describe('pub/sub', () => {
  it('delivers PUBLISHed messages to channel and pattern subscribers, and PUBLISH counts them', async () => {
    serving = await served();
    const subscriber = client(serving.port);
    expect(await subscriber.subscribe('news', 'sport')).toBe(2);
    expect(await subscriber.psubscribe('news.*')).toBe(3);
    const seen = collect(subscriber);
    const publisher = client(serving.port);
    expect(await publisher.publish('news', 'hello')).toBe(1);
    expect(await publisher.publish('news.tech', 'chips')).toBe(1);
    expect(await publisher.publish('weather', 'rain')).toBe(0);
    expect(await seen).toEqual(['message news hello', 'pmessage news.* news.tech chips']);
    expect(await subscriber.unsubscribe('news', 'sport')).toBe(1); // the count after the last confirmation: the pattern is left
    expect(await subscriber.punsubscribe()).toBe(0);
    expect(await subscriber.ping()).toBe('PONG'); // out of the subscribed context
  });

  it('in RESP2, a subscribed connection may only manage subscriptions and PING, with Redis texts', async () => {
    serving = await served();
    const { reply } = await rawExchange(serving.port, 'SUBSCRIBE a\r\nGET k\r\nPING\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nGET k\r\n');
    expect(reply).toBe(
      [
        '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n',
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
        '*2\r\n$4\r\npong\r\n$0\r\n\r\n',
        '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n',
        '*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n',
        '$-1\r\n',
      ].join(''),
    );
  });

  it('RESET leaves every subscription; a closed connection leaves them too', async () => {
    serving = await served();
    const { reply } = await rawExchange(serving.port, 'SUBSCRIBE a b\r\nRESET\r\nGET k\r\n');
    expect(reply.endsWith('+RESET\r\n$-1\r\n')).toBe(true);
    expect(await client(serving.port).publish('a', 'x')).toBe(0);
  });
});

describe('keyspace notifications', () => {
  it('announce writes from any client and from the store API once enabled, on both channels, as Redis names them', async () => {
    serving = await served();
    const redis = client(serving.port);
    expect(await redis.config('SET', 'notify-keyspace-events', 'KEA')).toBe('OK');
    expect(await redis.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', 'AKE']);
    const subscriber = client(serving.port);
    await subscriber.psubscribe('__keyspace@0__:*', '__keyevent@0__:*');
    const seen = collect(subscriber, 300);
    await redis.set('k', 'v');
    await redis.expire('k', 100);
    await redis.del('k');
    await serving.store.put('app', 'written by the store API');
    const messages = await seen;
    expect(messages).toEqual([
      'pmessage __keyspace@0__:* __keyspace@0__:k set',
      'pmessage __keyevent@0__:* __keyevent@0__:set k',
      'pmessage __keyspace@0__:* __keyspace@0__:k expire',
      'pmessage __keyevent@0__:* __keyevent@0__:expire k',
      'pmessage __keyspace@0__:* __keyspace@0__:k del',
      'pmessage __keyevent@0__:* __keyevent@0__:del k',
      'pmessage __keyspace@0__:* __keyspace@0__:app set',
      'pmessage __keyevent@0__:* __keyevent@0__:set app',
    ]);
  });

  it('announce nothing until enabled, only the classes asked for, and refuse unknown flags', async () => {
    serving = await served();
    const redis = client(serving.port);
    const subscriber = client(serving.port);
    await subscriber.psubscribe('__key*__:*');
    let seen = collect(subscriber);
    await redis.set('quiet', 'v');
    expect(await seen).toEqual([]);
    await redis.config('SET', 'notify-keyspace-events', 'Eg'); // generic events only, keyevent channel only
    seen = collect(subscriber);
    await redis.set('k', 'v');
    await redis.del('k');
    expect(await seen).toEqual(['pmessage __key*__:* __keyevent@0__:del k']);
    await expect(redis.config('SET', 'notify-keyspace-events', 'Kq')).rejects.toThrow(/Invalid event class character/);
    await redis.config('SET', 'notify-keyspace-events', '');
    seen = collect(subscriber);
    await redis.del('quiet');
    expect(await seen).toEqual([]);
  });
});
