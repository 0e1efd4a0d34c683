/**
 * The Level ecosystem over DurableLevel, with the real packages: level-read-stream's streams,
 * sublevels (json, nested, atomic batches across two), keys as bytes (byte order as memory-level and
 * classic-level give it, one key whichever format wrote it), explicit snapshots, open errors and
 * store options, and the on-disk mapping as the plain store API reads it. Each database is on a
 * fresh directory of the real file system.
 */
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClassicLevel } from 'classic-level';
import { EntryStream, KeyStream, ValueStream } from 'level-read-stream';
import { MemoryLevel } from 'memory-level';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { DurableLevel, type DurableLevelOptions } from '../../src/level/index.js';
import { type CodedError, rejectionOf } from '../helpers/errors.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

/** An open DurableLevel on a fresh directory, closed when the test finishes. */
async function openLevel<K = string, V = string>(
  options: DurableLevelOptions<K, V> = {},
): Promise<{ db: DurableLevel<K, V>; dir: string }> {
  const dir = await tempDir('durable-level-');
  const db = closeAfterTest(new DurableLevel<K, V>(dir, options));
  await db.open();
  return { db, dir };
}

const pad = (i: number) => String(i).padStart(5, '0');

/** `count` entries k00000 → v0, k00001 → v1, …, written in one batch. */
async function fill(db: DurableLevel, count: number): Promise<Array<{ key: string; value: string }>> {
  const entries = Array.from({ length: count }, (_, i) => ({ key: `k${pad(i)}`, value: `v${i}` }));
  await db.batch(entries.map(({ key, value }) => ({ type: 'put' as const, key, value })));
  return entries;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

/** What the byte-order comparison uses of each database. */
interface BufferKeyed {
  batch(operations: Array<{ type: 'put'; key: Buffer; value: string }>): Promise<void>;
  keys(options: { gte: Buffer; lt: Buffer; reverse: boolean }): { all(): Promise<Buffer[]> };
}

const bytesOf = (...values: number[]) => Buffer.from(values);
const byteOrder = (keys: Buffer[]) => [...keys].sort(Buffer.compare);

/** Keys whose bytes straddle every boundary UTF-8 and latin1 care about. */
const binaryKeys = [
  bytesOf(0xff),
  bytesOf(0x00),
  bytesOf(0x80),
  bytesOf(0x7f),
  bytesOf(0xc0),
  bytesOf(0x00, 0x00),
  bytesOf(0x00, 0xff),
  bytesOf(0x7f, 0xff),
  bytesOf(0x80, 0x00),
  bytesOf(0xc0, 0x80),
  bytesOf(0xc3, 0xa9),
  bytesOf(0xff, 0x00),
  bytesOf(0xff, 0xff),
  bytesOf(0x61),
  bytesOf(0x61, 0x80),
];

describe('level-read-stream', () => {
  it('EntryStream yields exactly the entries of a gte/lt range, in order, and reversed with a limit', async () => {
    const { db } = await openLevel();
    const entries = await fill(db, 3_000);
    expect(await collect(new EntryStream(db, { gte: 'k00100', lt: 'k02100' }))).toEqual(entries.slice(100, 2_100));
    expect(await collect(new EntryStream(db, { gte: 'k00100', lt: 'k02100', reverse: true, limit: 700 }))).toEqual(
      entries.slice(1_400, 2_100).reverse(),
    );
    expect(await collect(new EntryStream(db, { gt: 'k02990' }))).toEqual(entries.slice(2_991));
    expect(await collect(new EntryStream(db))).toEqual(entries);
  });

  it('KeyStream and ValueStream yield the keys and the values of a range, forward and reversed', async () => {
    const { db } = await openLevel();
    const entries = await fill(db, 3_000);
    const keys = entries.map((entry) => entry.key);
    const values = entries.map((entry) => entry.value);
    expect(await collect(new KeyStream(db, { gte: 'k01000', lt: 'k01500' }))).toEqual(keys.slice(1_000, 1_500));
    expect(await collect(new KeyStream(db, { lte: 'k00999', reverse: true, limit: 250 }))).toEqual(keys.slice(750, 1_000).reverse());
    expect(await collect(new ValueStream(db, { gte: 'k02500' }))).toEqual(values.slice(2_500));
    expect(await collect(new ValueStream(db, { lt: 'k00010', reverse: true }))).toEqual(values.slice(0, 10).reverse());
  });

  it('a stream piped through pipeline() into a Writable delivers every entry, in order', async () => {
    const { db } = await openLevel();
    const entries = await fill(db, 3_000);
    const received: Array<{ key: string; value: string }> = [];
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 16,
      write(entry: { key: string; value: string }, _encoding, callback) {
        received.push(entry);
        // Asynchronous, so the stream is paused and resumed by backpressure along the way.
        setImmediate(callback);
      },
    });
    await pipeline(new EntryStream(db, { highWaterMark: 64 }), sink);
    expect(received).toEqual(entries);
  });

  it('a stream destroyed mid-way closes its iterator, and db.close() then resolves', async () => {
    const { db } = await openLevel();
    await fill(db, 3_000);
    const iterator = vi.spyOn(db, 'iterator');
    // level-read-stream's types name readable-stream's Readable, whose types are not installed: Node's is the same API.
    const stream = new EntryStream(db, { highWaterMark: 10 }) as unknown as Readable;
    const seen: string[] = [];
    stream.on('data', ({ key }: { key: string }) => {
      seen.push(key);
      if (seen.length === 25) stream.destroy();
    });
    await once(stream, 'close');
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `k${pad(i)}`));
    expect(iterator).toHaveBeenCalledTimes(1);
    const levelIterator = iterator.mock.results[0]?.value as { next(): Promise<unknown> };
    expect(((await rejectionOf(levelIterator.next())) as CodedError).code).toBe('LEVEL_ITERATOR_NOT_OPEN');
    await db.close();
    expect(db.status).toBe('closed');
  });
});

describe('sublevels', () => {
  it('a json sublevel stores and returns objects, and iterates only its own keys', async () => {
    const { db } = await openLevel();
    const users = db.sublevel<string, { name: string; age: number }>('users', { valueEncoding: 'json' });
    await db.put('a', 'root before');
    await db.put('users', 'a root key named like the sublevel');
    await users.put('1', { name: 'Ada', age: 36 });
    await users.put('2', { name: 'Grace', age: 85 });
    await db.put('z', 'root after');
    expect(await users.get('1')).toEqual({ name: 'Ada', age: 36 });
    expect(await users.iterator().all()).toEqual([
      ['1', { name: 'Ada', age: 36 }],
      ['2', { name: 'Grace', age: 85 }],
    ]);
    expect(await users.keys({ gt: '1' }).all()).toEqual(['2']);
    // Seen from the root: the sublevel's keys are prefixed, and its values are JSON text.
    expect(await db.get('!users!2')).toBe('{"name":"Grace","age":85}');
    expect(await db.keys().all()).toEqual(['!users!1', '!users!2', 'a', 'users', 'z']);
  });

  it('a nested sublevel is prefixed under its parent and iterates only its own keys', async () => {
    const { db } = await openLevel();
    const users = db.sublevel<string, { name: string }>('users', { valueEncoding: 'json' });
    const admins = users.sublevel<string, { name: string }>('admins', { valueEncoding: 'json' });
    await users.put('ada', { name: 'Ada' });
    await admins.put('grace', { name: 'Grace' });
    await db.put('grace', 'a root key');
    expect(admins.prefix).toBe('!users!!admins!');
    expect(await admins.iterator().all()).toEqual([['grace', { name: 'Grace' }]]);
    expect(await admins.get('ada')).toBeUndefined();
    // The parent's range holds its child's keys, prefixed (as with every abstract-level database).
    expect(await users.keys().all()).toEqual(['!admins!grace', 'ada']);
    expect(await db.keys().all()).toEqual(['!users!!admins!grace', '!users!ada', 'grace']);
  });

  it('a batch across two sublevels is one WAL record: one seq, one change with every op', async () => {
    const { db } = await openLevel<string, unknown>();
    const users = db.sublevel<string, { name: string }>('users', { valueEncoding: 'json' });
    const orders = db.sublevel<string, { qty: number }>('orders', { valueEncoding: 'json' });
    await users.put('old', { name: 'Old' });
    const before = db.store.stats().lastSeq;
    await db.batch([
      { type: 'put', sublevel: users, key: 'ada', value: { name: 'Ada' } },
      { type: 'put', sublevel: orders, key: '0001', value: { qty: 3 } },
      { type: 'del', sublevel: users, key: 'old' },
    ]);
    expect(db.store.stats().lastSeq).toBe(before + 1);
    const change = await firstValueFrom(db.store.changes({ since: before }));
    expect(change.seq).toBe(before + 1);
    const ops = change.ops.map((op) =>
      op.type === 'put' ? [op.type, op.key, Buffer.from(op.value).toString()] : op.type === 'delete' ? [op.type, op.key] : op,
    );
    expect(ops).toEqual([
      ['put', '!users!ada', '{"name":"Ada"}'],
      ['put', '!orders!0001', '{"qty":3}'],
      ['delete', '!users!old'],
    ]);
    expect(await users.iterator().all()).toEqual([['ada', { name: 'Ada' }]]);
    expect(await orders.iterator().all()).toEqual([['0001', { qty: 3 }]]);
  });

  it('a batch across two sublevels that the store refuses writes nothing to either', async () => {
    const { db } = await openLevel({ keyBytesMax: 24 });
    const users = db.sublevel('users');
    const orders = db.sublevel('orders');
    const before = db.store.stats().lastSeq;
    const error = await rejectionOf(
      db.batch([
        { type: 'put', sublevel: users, key: 'ada', value: 'fits' },
        { type: 'put', sublevel: orders, key: 'a key too long for keyBytesMax', value: 'does not fit' },
      ]),
    );
    expect(error.code).toBe('ERR_INVALID_ARG');
    expect(db.store.stats().lastSeq).toBe(before);
    expect(await db.keys().all()).toEqual([]);
  });

  it('clear() on a sublevel removes only its keys (all of them, or a range)', async () => {
    const { db } = await openLevel();
    const users = db.sublevel('users');
    const orders = db.sublevel('orders');
    await db.batch([
      { type: 'put', key: '!users', value: 'root, just below the prefix' },
      { type: 'put', sublevel: users, key: '1', value: 'u1' },
      { type: 'put', sublevel: users, key: '2', value: 'u2' },
      { type: 'put', sublevel: users, key: '3', value: 'u3' },
      { type: 'put', sublevel: orders, key: '1', value: 'o1' },
      { type: 'put', key: 'zz', value: 'root' },
    ]);
    await users.clear({ gte: '2', lt: '3' });
    expect(await users.keys().all()).toEqual(['1', '3']);
    await users.clear();
    expect(await users.keys().all()).toEqual([]);
    expect(await orders.iterator().all()).toEqual([['1', 'o1']]);
    expect(await db.keys().all()).toEqual(['!orders!1', '!users', 'zz']);
  });

  it('data written through sublevels (nested too) survives close and reopen', async () => {
    const { db, dir } = await openLevel();
    const users = db.sublevel<string, { name: string }>('users', { valueEncoding: 'json' });
    const admins = users.sublevel<string, { name: string }>('admins', { valueEncoding: 'json' });
    await users.put('ada', { name: 'Ada' });
    await admins.put('grace', { name: 'Grace' });
    await db
      .batch()
      .put('0001', 'first order', { sublevel: db.sublevel('orders') })
      .write();
    await db.close();

    const reopened = closeAfterTest(new DurableLevel(dir));
    await reopened.open();
    const users2 = reopened.sublevel<string, { name: string }>('users', { valueEncoding: 'json' });
    expect(await users2.get('ada')).toEqual({ name: 'Ada' });
    expect(await users2.sublevel<string, { name: string }>('admins', { valueEncoding: 'json' }).iterator().all()).toEqual([
      ['grace', { name: 'Grace' }],
    ]);
    expect(await reopened.sublevel('orders').iterator().all()).toEqual([['0001', 'first order']]);
  });
});

describe('keys are bytes', () => {
  it('Buffer keys sort in byte order (Buffer.compare), forward, reversed and within a range', async () => {
    const { db } = await openLevel<Buffer, string>({ keyEncoding: 'buffer' });
    await db.batch(binaryKeys.map((key) => ({ type: 'put' as const, key, value: key.toString('hex') })));
    const sorted = byteOrder(binaryKeys);
    expect(await db.keys().all()).toEqual(sorted);
    expect(await db.keys({ reverse: true }).all()).toEqual([...sorted].reverse());
    expect(await db.iterator().all()).toEqual(sorted.map((key) => [key, key.toString('hex')]));
    const inside = sorted.filter((key) => Buffer.compare(key, bytesOf(0x7f)) > 0 && Buffer.compare(key, bytesOf(0xff)) < 0);
    expect(inside.length).toBeGreaterThan(3);
    expect(await db.keys({ gt: bytesOf(0x7f), lt: bytesOf(0xff) }).all()).toEqual(inside);
    expect(await db.keys({ gt: bytesOf(0x7f), lt: bytesOf(0xff), reverse: true }).all()).toEqual([...inside].reverse());
    // seek lands by bytes too.
    const iterator = db.keys();
    iterator.seek(bytesOf(0x80, 0x01));
    expect(await iterator.next()).toEqual(bytesOf(0xc0));
    await iterator.close();
  });

  it('orders binary keys as memory-level and classic-level do', async () => {
    const { db } = await openLevel<Buffer, string>({ keyEncoding: 'buffer' });
    const memory = new MemoryLevel<Buffer, string>({ keyEncoding: 'buffer' });
    const classic = closeAfterTest(new ClassicLevel<Buffer, string>(await tempDir('classic-level-'), { keyEncoding: 'buffer' }));
    const orders: Buffer[][] = [];
    const levels: BufferKeyed[] = [db, memory, classic];
    for (const level of levels) {
      await level.batch(binaryKeys.map((key) => ({ type: 'put' as const, key, value: 'x' })));
      orders.push(await level.keys({ gte: bytesOf(0x00, 0x00), lt: bytesOf(0xff, 0xff), reverse: true }).all());
    }
    await memory.close();
    expect(orders[0]).toEqual(orders[1]);
    expect(orders[0]).toEqual(orders[2]);
  });

  it("a key written as a utf8 string ('é', '😀') reads back as a Buffer of its UTF-8 bytes, and vice versa", async () => {
    const { db } = await openLevel();
    await db.put('é', 'e acute');
    await db.put('😀', 'grinning');
    expect(await db.get(Buffer.from('é', 'utf8'), { keyEncoding: 'buffer' })).toBe('e acute');
    expect(await db.keys({ keyEncoding: 'buffer' }).all()).toEqual([Buffer.from('é', 'utf8'), Buffer.from('😀', 'utf8')]);

    await db.put(Buffer.from('ü', 'utf8'), 'u umlaut', { keyEncoding: 'buffer' });
    await db.put(Buffer.from('😀', 'utf8'), 'grinning, again', { keyEncoding: 'buffer' });
    expect(await db.get('ü')).toBe('u umlaut');
    expect(await db.get('😀')).toBe('grinning, again');
    // The same three keys whichever format wrote them.
    expect(await db.iterator().all()).toEqual([
      ['é', 'e acute'],
      ['ü', 'u umlaut'],
      ['😀', 'grinning, again'],
    ]);
  });

  it('random binary keys and values round-trip exactly through close and reopen', async () => {
    const { db, dir } = await openLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const written = new Map<string, [Buffer, Buffer]>();
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(1 + (i % 24));
      written.set(key.toString('hex'), [key, randomBytes(i % 7 === 0 ? 0 : i * 7)]);
    }
    await db.batch([...written.values()].map(([key, value]) => ({ type: 'put' as const, key, value })));
    await db.close();

    const reopened = closeAfterTest(new DurableLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }));
    await reopened.open();
    const expected = [...written.values()].sort(([a], [b]) => Buffer.compare(a, b));
    expect(await reopened.iterator().all()).toEqual(expected);
    for (const [key, value] of expected.slice(0, 20)) expect(await reopened.get(key)).toEqual(value);
  });

  it("'view' encoding returns Uint8Arrays that are not Buffers, with the same bytes", async () => {
    const { db } = await openLevel();
    await db.put('k', 'välue');
    const value = await db.get<string, Uint8Array>('k', { valueEncoding: 'view' });
    expect(value).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(value)).toBe(false);
    expect(Buffer.from(value as Uint8Array)).toEqual(Buffer.from('välue', 'utf8'));
    const [[key, iterated]] = await db.iterator<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }).all();
    expect(Buffer.isBuffer(key)).toBe(false);
    expect(Buffer.isBuffer(iterated)).toBe(false);
    expect([...key]).toEqual([0x6b]);
    expect(Buffer.from(iterated)).toEqual(Buffer.from('välue', 'utf8'));
  });
});

describe('explicit snapshots', () => {
  it('get, getMany, has and iterators given { snapshot } see the state at db.snapshot(), through later writes', async () => {
    const { db } = await openLevel();
    await db.batch([
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' },
      { type: 'put', key: 'c', value: '3' },
    ]);
    const snapshot = db.snapshot();
    await db.put('a', 'changed');
    await db.del('b');
    await db.put('d', '4');
    await db.clear({ gte: 'c', lte: 'c' });
    expect(await db.get('a', { snapshot })).toBe('1');
    expect(await db.getMany(['a', 'b', 'c', 'd'], { snapshot })).toEqual(['1', '2', '3', undefined]);
    expect(await db.has('b', { snapshot })).toBe(true);
    expect(await db.iterator({ snapshot }).all()).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(await db.keys({ snapshot, reverse: true, limit: 2 }).all()).toEqual(['c', 'b']);
    // The database itself moved on.
    expect(await db.iterator().all()).toEqual([
      ['a', 'changed'],
      ['d', '4'],
    ]);
    await snapshot.close();
  });

  it('a snapshot survives a disk snapshot (db.store.snapshot()) taken in between', async () => {
    const { db } = await openLevel();
    const entries = await fill(db, 500);
    const snapshot = db.snapshot();
    await db.clear({ lt: 'k00250' });
    await db.put('k00300', 'changed');
    const disk = await db.store.snapshot();
    expect(db.store.stats().snapshotSeq).toBe(disk.seq);
    await db.put('k00400', 'changed after the disk snapshot');
    expect(await db.iterator({ snapshot }).all()).toEqual(entries.map(({ key, value }) => [key, value]));
    expect(await db.get('k00300', { snapshot })).toBe('v300');
    expect(await db.get('k00400', { snapshot })).toBe('v400');
    expect(await db.keys().all()).toHaveLength(250);
    await snapshot.close();
  });
});

describe('errors and options', () => {
  it('open({ createIfMissing: false }) on an empty dir: LEVEL_DATABASE_NOT_OPEN caused by ERR_NO_STORE, and nothing is created', async () => {
    const dir = await tempDir('durable-level-');
    const db = closeAfterTest(new DurableLevel(dir));
    const error = await rejectionOf(db.open({ createIfMissing: false }));
    expect(error.code).toBe('LEVEL_DATABASE_NOT_OPEN');
    expect((error.cause as CodedError).code).toBe('ERR_NO_STORE');
    expect(await readdir(dir)).toEqual([]);
  });

  it('open({ errorIfExists: true }) where a store is: LEVEL_DATABASE_NOT_OPEN caused by ERR_STORE_EXISTS', async () => {
    const { db, dir } = await openLevel();
    await db.put('k', 'v');
    await db.close();
    const again = closeAfterTest(new DurableLevel(dir));
    const error = await rejectionOf(again.open({ errorIfExists: true }));
    expect(error.code).toBe('LEVEL_DATABASE_NOT_OPEN');
    expect((error.cause as CodedError).code).toBe('ERR_STORE_EXISTS');
    // Without the option it opens and finds the data.
    await again.open();
    expect(await again.get('k')).toBe('v');
  });

  it('a second DurableLevel on an open dir: LEVEL_DATABASE_NOT_OPEN, caused by LEVEL_LOCKED, caused by ERR_STORE_LOCKED', async () => {
    const { db, dir } = await openLevel();
    const second = closeAfterTest(new DurableLevel(dir));
    const error = await rejectionOf(second.open());
    expect(error.code).toBe('LEVEL_DATABASE_NOT_OPEN');
    const cause = error.cause as CodedError;
    expect(cause.code).toBe('LEVEL_LOCKED');
    expect((cause.cause as CodedError).code).toBe('ERR_STORE_LOCKED');
    // The first is untouched.
    await db.put('still', 'writable');
    expect(await db.get('still')).toBe('writable');
  });

  it('a key over keyBytesMax (a constructor option) is refused by put with ERR_INVALID_ARG, and nothing is written', async () => {
    const { db } = await openLevel<string | Buffer, string>({ keyBytesMax: 16 });
    const before = db.store.stats().lastSeq;
    expect((await rejectionOf(db.put('x'.repeat(17), 'v'))).code).toBe('ERR_INVALID_ARG');
    // The limit counts the key's own bytes, whatever its stored form (see README, Keys).
    expect((await rejectionOf(db.put(Buffer.alloc(17, 0xff), 'v', { keyEncoding: 'buffer' }))).code).toBe('ERR_INVALID_ARG');
    expect(db.store.stats().lastSeq).toBe(before);
    expect(await db.keys().all()).toEqual([]);
    await db.put('x'.repeat(16), 'fits');
    await db.put(Buffer.alloc(16, 0xff), 'fits too', { keyEncoding: 'buffer' });
    expect(await db.keys().all()).toHaveLength(2);
  });

  it('store options given to the constructor reach the store (batchOpsMax, segmentBytesMax); unknown ones are ignored', async () => {
    // stats() does not show the sync policy, so a visible limit and a visible layout stand in for it.
    const { db } = await openLevel({ batchOpsMax: 2, segmentBytesMax: 1024, cacheSize: 8 << 20 } as DurableLevelOptions<string, string>);
    const ops = ['a', 'b', 'c'].map((key) => ({ type: 'put' as const, key, value: key }));
    expect((await rejectionOf(db.batch(ops))).code).toBe('ERR_INVALID_ARG');
    expect(await db.keys().all()).toEqual([]);
    await db.batch(ops.slice(0, 2));
    for (let i = 0; i < 20; i++) await db.put(`k${i}`, 'x'.repeat(200));
    expect(db.store.stats().walSegments).toBeGreaterThan(1);
  });
});

describe('the same data through the plain store API', () => {
  it('ASCII keys are themselves and text values are themselves; a non-ASCII key is its bytes, one char each; bytes values are tagged', async () => {
    const { db, dir } = await openLevel();
    const values: Record<string, string> = { 'user:1': 'Ada', 'user:2': 'Grâce 😀', empty: '', 'sp ace~': 'ünïcode' };
    await db.batch(Object.entries(values).map(([key, value]) => ({ type: 'put' as const, key, value })));
    await db.put('é', 'non-ASCII key');
    await db.put('bytes', Buffer.from([0x00, 0xff]), { valueEncoding: 'buffer' });
    await db.close();

    const store = closeAfterTest(await DurableKVStore.open(dir));
    const expected = Object.entries(values)
      .concat([
        ['\u00c3\u00a9', 'non-ASCII key'],
        ['bytes', '\u0000b\u0000\u00ff'],
      ])
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    expect([...store.range()]).toEqual(expected);
    expect(store.get('user:2')).toBe('Grâce 😀');
  });
});
