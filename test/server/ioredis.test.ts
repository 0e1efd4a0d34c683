/**
 * The server driven by a real client, ioredis, as an app would use it: commands and their replies,
 * Redis's error texts, pipelining, binary values, and the store's own API seeing the same keys.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Served, served } from './helpers.js';

let serving: Served;
let redis: Redis;

beforeAll(async () => {
  serving = await served();
});

afterAll(async () => {
  await serving.close();
});

beforeEach(async () => {
  redis = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
});

afterEach(() => {
  redis.disconnect();
});

const replyError = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: Error) => error.message,
  );

describe('connection', () => {
  it('answers PING, ECHO, SELECT 0, and refuses other databases as Redis with one database does', async () => {
    expect(await redis.ping()).toBe('PONG');
    expect(await redis.ping('hello')).toBe('hello');
    expect(await redis.echo('say it')).toBe('say it');
    expect(await redis.select(0)).toBe('OK');
    expect(await replyError(redis.select(1))).toBe('ERR DB index is out of range');
  });

  it('names the client, gives its id, and switches to RESP3 with HELLO 3', async () => {
    expect(await redis.client('SETNAME', 'worker-1')).toBe('OK');
    expect(await redis.client('GETNAME')).toBe('worker-1');
    expect(await replyError(redis.client('SETNAME', 'has space'))).toBe(
      'ERR Client names cannot contain spaces, newlines or special characters.',
    );
    const id = await redis.client('ID');
    expect(typeof id).toBe('number');
    const hello = (await redis.call('HELLO', '2')) as unknown[];
    expect(hello.slice(0, 6)).toEqual(['server', 'redis', 'version', '7.2.0', 'proto', 2]);
    expect(await replyError(redis.call('HELLO', '4'))).toBe('NOPROTO unsupported protocol version');
  });

  it('gives Redis error texts for unknown commands and wrong arity', async () => {
    expect(await replyError(redis.call('NOSUCH', 'a', 'b'))).toBe("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ");
    expect(await replyError(redis.call('GET'))).toBe("ERR wrong number of arguments for 'get' command");
    expect(await replyError(redis.call('SET', 'k', 'v', 'BOGUS'))).toBe('ERR syntax error');
  });
});

describe('strings', () => {
  it('SET and GET, with NX, XX, GET and their null replies', async () => {
    expect(await redis.set('k', 'v1')).toBe('OK');
    expect(await redis.get('k')).toBe('v1');
    expect(await redis.set('k', 'v2', 'NX')).toBeNull();
    expect(await redis.set('new', 'n', 'XX')).toBeNull();
    expect(await redis.exists('new')).toBe(0);
    expect(await redis.call('SET', 'k', 'v3', 'XX', 'GET')).toBe('v1');
    expect(await redis.get('k')).toBe('v3');
    expect(await redis.call('SET', 'fresh', 'f', 'NX', 'GET')).toBeNull();
    expect(await redis.get('fresh')).toBe('f');
    expect(await redis.get('missing')).toBeNull();
  });

  it('SET with EX, PX, EXAT, PXAT and KEEPTTL sets and keeps expiries; bad times are refused', async () => {
    await redis.set('ex', 'v', 'EX', 100);
    expect(await redis.ttl('ex')).toBe(100);
    await redis.set('px', 'v', 'PX', 5_000);
    expect(await redis.pttl('px')).toBeGreaterThan(4_000);
    const at = Math.floor(Date.now() / 1000) + 1_000;
    await redis.set('exat', 'v', 'EXAT', at);
    expect(await redis.expiretime('exat')).toBe(at);
    await redis.set('exat', 'changed', 'KEEPTTL');
    expect(await redis.expiretime('exat')).toBe(at);
    await redis.set('exat', 'cleared');
    expect(await redis.ttl('exat')).toBe(-1);
    expect(await replyError(redis.set('bad', 'v', 'EX', 0))).toBe("ERR invalid expire time in 'set' command");
    expect(await replyError(redis.set('bad', 'v', 'EX', 'soon'))).toBe('ERR value is not an integer or out of range');
    expect(await replyError(redis.call('SET', 'bad', 'v', 'EX', '10', 'PX', '10'))).toBe('ERR syntax error');
    expect(await redis.exists('bad')).toBe(0);
  });

  it('SETNX, SETEX, PSETEX, GETSET, GETDEL, MGET, MSET, MSETNX, STRLEN', async () => {
    expect(await redis.setnx('a', '1')).toBe(1);
    expect(await redis.setnx('a', '2')).toBe(0);
    expect(await redis.setex('b', 60, '2')).toBe('OK');
    expect(await redis.ttl('b')).toBe(60);
    expect(await redis.psetex('c', 60_000, '3')).toBe('OK');
    expect(await redis.getset('a', 'one')).toBe('1');
    expect(await redis.getdel('c')).toBe('3');
    expect(await redis.getdel('c')).toBeNull();
    expect(await redis.mset('x', 'X', 'y', 'Y')).toBe('OK');
    expect(await redis.mget('x', 'missing', 'y')).toEqual(['X', null, 'Y']);
    expect(await redis.msetnx('y', 'no', 'z', 'no')).toBe(0);
    expect(await redis.exists('z')).toBe(0);
    expect(await redis.msetnx('z', 'Z', 'w', 'W')).toBe(1);
    expect(await redis.strlen('z')).toBe(1);
    expect(await redis.strlen('café-key-missing')).toBe(0);
    await redis.set('utf', 'café');
    expect(await redis.strlen('utf')).toBe(5); // bytes, as Redis counts
  });

  it('APPEND keeps bytes and expiry; INCR and friends count; non-integers are refused unchanged', async () => {
    expect(await redis.append('s', 'ab')).toBe(2);
    await redis.expire('s', 100);
    expect(await redis.append('s', 'cd')).toBe(4);
    expect(await redis.get('s')).toBe('abcd');
    expect(await redis.ttl('s')).toBe(100);
    expect(await redis.incr('n')).toBe(1);
    expect(await redis.incrby('n', 10)).toBe(11);
    expect(await redis.decr('n')).toBe(10);
    expect(await redis.decrby('n', 20)).toBe(-10);
    expect(await replyError(redis.incr('s'))).toBe('ERR value is not an integer or out of range');
    expect(await redis.get('s')).toBe('abcd');
    expect(await replyError(redis.incrby('n', 'ten'))).toBe('ERR value is not an integer or out of range');
  });

  it('keeps binary values byte for byte, and text as text for the store API', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x41]);
    await redis.set(Buffer.from([0xc3, 0x28]), bytes); // an invalid UTF-8 key, a binary value
    expect(await redis.getBuffer(Buffer.from([0xc3, 0x28]))).toEqual(bytes);
    expect(await redis.strlen(Buffer.from([0xc3, 0x28]))).toBe(bytes.byteLength);
    await redis.set('greeting', 'héllo wörld');
    expect(serving.store.get('greeting')).toBe('héllo wörld');
    await serving.store.put('from-app', 'ünïcode');
    expect(await redis.get('from-app')).toBe('ünïcode');
    await redis.set('nul-text', '\u0000starts with NUL');
    expect(await redis.get('nul-text')).toBe('\u0000starts with NUL');
  });
});

describe('keys', () => {
  it('DEL and UNLINK count what they deleted; EXISTS counts repeats; TYPE', async () => {
    await redis.mset('a', '1', 'b', '2', 'c', '3');
    expect(await redis.del('a', 'b', 'missing', 'a')).toBe(2);
    expect(await redis.unlink('c', 'c')).toBe(1);
    await redis.set('d', '4');
    expect(await redis.exists('d', 'd', 'missing')).toBe(2);
    expect(await redis.type('d')).toBe('string');
    expect(await redis.type('missing')).toBe('none');
  });

  it('EXPIRE with NX, XX, GT, LT; PERSIST; TTL and PTTL of missing and persistent keys', async () => {
    await redis.set('k', 'v');
    expect(await redis.ttl('k')).toBe(-1);
    expect(await redis.ttl('missing')).toBe(-2);
    expect(await redis.pttl('missing')).toBe(-2);
    expect(await redis.expire('k', 100, 'XX')).toBe(0);
    expect(await redis.expire('k', 100, 'NX')).toBe(1);
    expect(await redis.expire('k', 200, 'NX')).toBe(0);
    expect(await redis.expire('k', 50, 'GT')).toBe(0);
    expect(await redis.expire('k', 300, 'GT')).toBe(1);
    expect(await redis.expire('k', 400, 'LT')).toBe(0);
    expect(await redis.expire('k', 30, 'LT')).toBe(1);
    expect(await redis.ttl('k')).toBe(30);
    expect(await redis.persist('k')).toBe(1);
    expect(await redis.persist('k')).toBe(0);
    expect(await redis.expire('missing', 10)).toBe(0);
    expect(await replyError(redis.call('EXPIRE', 'k', '10', 'NX', 'GT'))).toBe(
      'ERR NX and XX, GT or LT options at the same time are not compatible',
    );
    expect(await redis.get('k')).toBe('v');
  });

  it('an expiry in the past deletes the key, as in Redis', async () => {
    await redis.set('k', 'v');
    expect(await redis.pexpireat('k', Date.now() - 1_000)).toBe(1);
    expect(await redis.exists('k')).toBe(0);
  });
});

describe('more strings', () => {
  it('GETEX changes or removes the expiry and returns the value', async () => {
    await redis.set('k', 'v');
    expect(await redis.getex('k', 'EX', 100)).toBe('v');
    expect(await redis.ttl('k')).toBe(100);
    expect(await redis.getex('k', 'PERSIST')).toBe('v');
    expect(await redis.ttl('k')).toBe(-1);
    expect(await redis.getex('missing', 'EX', 10)).toBeNull();
    expect(await replyError(redis.call('GETEX', 'k', 'EX'))).toBe('ERR syntax error');
  });

  it('GETRANGE and SETRANGE work on bytes, with Redis clamping and zero padding', async () => {
    await redis.set('s', 'Hello World');
    expect(await redis.getrange('s', 0, 4)).toBe('Hello');
    expect(await redis.getrange('s', -5, -1)).toBe('World');
    expect(await redis.getrange('s', 5, 1)).toBe('');
    expect(await redis.getrange('s', 0, 100)).toBe('Hello World');
    expect(await redis.getrange('s', -1, -5)).toBe('');
    expect(await redis.setrange('s', 6, 'Redis')).toBe(11);
    expect(await redis.get('s')).toBe('Hello Redis');
    expect(await redis.setrange('pad', 3, 'x')).toBe(4);
    expect(await redis.getBuffer('pad')).toEqual(Buffer.from([0, 0, 0, 0x78]));
    expect(await redis.setrange('nothing', 5, '')).toBe(0);
    expect(await redis.setrange('s', 2 ** 40, '')).toBe(11); // an empty patch changes nothing: no size error
    expect(await redis.exists('nothing')).toBe(0);
    expect(await replyError(redis.setrange('s', -1, 'x'))).toBe('ERR offset is out of range');
  });

  it('INCRBYFLOAT adds, keeps the result as text, and refuses what is not a float', async () => {
    expect(await redis.incrbyfloat('f', '10.5')).toBe('10.5');
    expect(await redis.incrbyfloat('f', '-0.5')).toBe('10');
    expect(await redis.incrbyfloat('f', '5.0e3')).toBe('5010');
    expect(await redis.get('f')).toBe('5010');
    expect(await replyError(redis.incrbyfloat('f', 'abc'))).toBe('ERR value is not a valid float');
    await redis.set('word', 'abc');
    expect(await replyError(redis.incrbyfloat('word', '1'))).toBe('ERR value is not a valid float');
  });
});

describe('keyspace walks', () => {
  it('KEYS matches globs; SCAN returns every key exactly once while keys come and go', async () => {
    await redis.mset('user:1', 'a', 'user:2', 'b', 'user:10', 'c', 'order:1', 'd');
    expect((await redis.keys('user:*')).sort()).toEqual(['user:1', 'user:10', 'user:2']);
    expect((await redis.keys('user:?')).sort()).toEqual(['user:1', 'user:2']);
    expect((await redis.keys('*[dr]:1')).sort()).toEqual(['order:1', 'user:1']);
    expect(await redis.keys('o*[^x]:1')).toEqual(['order:1']);
    await redis.flushdb();
    const keys = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await redis.mset(...keys.flatMap((key) => [key, 'v']));
    const seen: string[] = [];
    let cursor = '0';
    let round = 0;
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 25);
      seen.push(...batch);
      cursor = next;
      // Keys present throughout are returned once; keys added or removed meanwhile may or may not be.
      await redis.set(`new:${round}`, 'v');
      await redis.del(`k${String(299 - round).padStart(3, '0')}`);
      round++;
    } while (cursor !== '0');
    const throughout = keys.slice(0, 300 - round);
    for (const key of throughout)
      expect(
        seen.filter((k) => k === key),
        key,
      ).toHaveLength(1);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('SCAN with MATCH and TYPE; an unknown cursor is an error, not a wrong scan', async () => {
    await redis.mset('a:1', 'x', 'a:2', 'x', 'b:1', 'x');
    const [, matched] = await redis.scan('0', 'MATCH', 'a:*', 'COUNT', 100);
    expect(matched.sort()).toEqual(['a:1', 'a:2']);
    const [, none] = (await redis.call('SCAN', '0', 'TYPE', 'hash', 'COUNT', '100')) as [string, string[]];
    expect(none).toEqual([]);
    expect(await replyError(redis.scan('12345'))).toMatch(/^ERR invalid cursor/);
    expect(await replyError(redis.scan('abc'))).toBe('ERR invalid cursor');
  });

  it('RENAME moves value and expiry atomically; RENAMENX refuses an existing target', async () => {
    await redis.set('from', 'v', 'EX', 100);
    expect(await redis.rename('from', 'to')).toBe('OK');
    expect(await redis.exists('from')).toBe(0);
    expect(await redis.get('to')).toBe('v');
    expect(await redis.ttl('to')).toBe(100);
    expect(await replyError(redis.rename('from', 'x'))).toBe('ERR no such key');
    await redis.set('other', 'o');
    expect(await redis.renamenx('to', 'other')).toBe(0);
    expect(await redis.renamenx('to', 'third')).toBe(1);
    expect(await redis.get('third')).toBe('v');
  });
});

describe('server', () => {
  it('DBSIZE, FLUSHDB, INFO with loading:0 and the keyspace, TIME, COMMAND COUNT, CONFIG GET', async () => {
    await redis.mset('a', '1', 'b', '2');
    expect(await redis.dbsize()).toBe(2);
    const info = await redis.info();
    expect(info).toContain('loading:0');
    expect(info).toContain('db0:keys=2');
    expect(info).toContain('redis_version:7.2.0');
    const [seconds, micros] = await redis.time();
    expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(5);
    expect(Number(micros)).toBeLessThan(1_000_000);
    expect(await redis.command('COUNT')).toBeGreaterThan(40);
    expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await redis.flushdb()).toBe('OK');
    expect(await redis.dbsize()).toBe(0);
  });
});

describe('pipelining', () => {
  it('answers a pipeline in order, reads see the writes before them, and the writes share group commits', async () => {
    const commits: number[] = [];
    const subscription = serving.store.signals$.subscribe((signal) => {
      if (signal.type === 'group-commit') commits.push(signal.records);
    });
    const pipeline = redis.pipeline();
    for (let i = 0; i < 500; i++) pipeline.set(`p${i}`, `v${i}`);
    pipeline.get('p499');
    pipeline.incr('counter');
    pipeline.get('counter');
    const results = (await pipeline.exec()) ?? [];
    subscription.unsubscribe();
    expect(results.slice(0, 500).every(([error, reply]) => error === null && reply === 'OK')).toBe(true);
    expect(results.slice(500).map(([, reply]) => reply)).toEqual(['v499', 1, '1']);
    const setRecords = commits.reduce((sum, records) => sum + records, 0);
    expect(setRecords).toBeGreaterThanOrEqual(501);
    // One client, one pipeline: its writes reach the WAL together, so far fewer groups than writes.
    expect(commits.length).toBeLessThan(50);
  });
});

describe('transactions', () => {
  it('MULTI/EXEC runs the queued commands as one atomic batch and answers each', async () => {
    await redis.set('balance', '10');
    const results = await redis.multi().decrby('balance', 3).incrby('spent', 3).get('balance').set('note', 'paid', 'EX', 60).exec();
    expect(results).toEqual([
      [null, 7],
      [null, 3],
      [null, '7'],
      [null, 'OK'],
    ]);
    expect(await redis.mget('balance', 'spent', 'note')).toEqual(['7', '3', 'paid']);
    expect(await redis.ttl('note')).toBe(60);
  });

  it('a command refused while queueing aborts EXEC (EXECABORT); a run-time error answers in place and the rest commit', async () => {
    await redis.set('text', 'abc');
    expect(await redis.call('MULTI')).toBe('OK');
    expect(await redis.call('SET', 'a', '1')).toBe('QUEUED');
    expect(await replyError(redis.call('GET'))).toBe("ERR wrong number of arguments for 'get' command");
    expect(await replyError(redis.call('EXEC'))).toBe('EXECABORT Transaction discarded because of previous errors.');
    expect(await redis.exists('a')).toBe(0);
    const results = await redis.multi().set('a', '1').incr('text').set('b', '2').exec();
    expect(results?.[0]).toEqual([null, 'OK']);
    expect(results?.[1][0]?.message).toBe('ERR value is not an integer or out of range');
    expect(results?.[2]).toEqual([null, 'OK']);
    expect(await redis.mget('a', 'b', 'text')).toEqual(['1', '2', 'abc']);
  });

  it('EXEC answers null when a WATCHed key changed, and runs when none did', async () => {
    const other = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    await redis.set('stock', '5');
    await redis.watch('stock');
    await other.set('stock', '4'); // another client changes it
    expect(await redis.multi().decr('stock').exec()).toBeNull();
    expect(await redis.get('stock')).toBe('4');
    await redis.watch('stock', 'absent');
    expect(await redis.multi().decr('stock').set('absent', 'now').exec()).toEqual([
      [null, 3],
      [null, 'OK'],
    ]);
    await redis.watch('absent');
    await other.del('absent'); // deleting counts as a change too
    expect(await redis.multi().set('absent', 'again').exec()).toBeNull();
    other.disconnect();
  });

  it('errors as Redis gives them: nested MULTI, EXEC and DISCARD without MULTI, WATCH inside MULTI, walks inside MULTI', async () => {
    expect(await replyError(redis.call('EXEC'))).toBe('ERR EXEC without MULTI');
    expect(await replyError(redis.call('DISCARD'))).toBe('ERR DISCARD without MULTI');
    await redis.call('MULTI');
    expect(await replyError(redis.call('MULTI'))).toBe('ERR MULTI calls can not be nested');
    expect(await replyError(redis.call('WATCH', 'k'))).toBe('ERR WATCH inside MULTI is not allowed');
    expect(await replyError(redis.call('KEYS', '*'))).toBe('ERR Command not allowed inside a transaction');
    expect(await redis.call('DISCARD')).toBe('OK');
    expect(await redis.ping()).toBe('PONG');
    // A refused control command fails the transaction too (Redis's rejectCommand).
    await redis.call('MULTI');
    expect(await redis.call('SET', 'x', '1')).toBe('QUEUED');
    expect(await replyError(redis.call('WATCH'))).toBe("ERR wrong number of arguments for 'watch' command");
    expect(await replyError(redis.call('EXEC'))).toBe('EXECABORT Transaction discarded because of previous errors.');
    expect(await redis.exists('x')).toBe(0);
  });

  it('commits all or nothing: a reader never sees half a transaction, and concurrent ones lose nothing', async () => {
    const clients = Array.from({ length: 4 }, () => new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0 }));
    await redis.mset('a', '0', 'b', '0');
    let writing = true;
    const torn: string[] = [];
    const reader = (async () => {
      while (writing) {
        const [a, b] = await redis.mget('a', 'b');
        if (a !== b) torn.push(`${a}/${b}`);
      }
    })();
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < 25; i++) await client.multi().incr('a').getset('note', `client ${i}`).incr('b').exec();
      }),
    );
    writing = false;
    await reader;
    expect(torn).toEqual([]);
    expect(await redis.mget('a', 'b')).toEqual(['100', '100']);
    for (const client of clients) client.disconnect();
  });
});
