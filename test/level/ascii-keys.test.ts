/**
 * Iterators over a store whose keys are all ASCII hand keys out as stored, without decoding each
 * (the index tells the view so). These tests prove the shortcut never leaks: a key with bytes above
 * 0x7f that arrives later, through the adapter or straight into the store, reads back decoded, and
 * a snapshot taken before it still reads as it was.
 */
import { describe, expect, it } from 'vitest';
import { DurableLevel } from '../../src/level/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

async function opened(): Promise<DurableLevel<string, string>> {
  const db = new DurableLevel<string, string>('/db', { fs: new MemoryFileSystem() });
  await db.open();
  await db.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'put', key: 'b', value: '2' },
  ]);
  return db;
}

describe('keys after an all-ASCII start', () => {
  it('a UTF-8 key put through the adapter reads back as text and as bytes, in byte order', async () => {
    const db = await opened();
    expect(await db.keys().all()).toEqual(['a', 'b']); // builds the index while every key is ASCII
    const before = db.snapshot();
    await db.put('é', '3');
    await db.put(Buffer.from([0x61, 0xff]) as unknown as string, '4', { keyEncoding: 'buffer' });
    expect(await db.keys().all()).toEqual(['a', 'a\ufffd', 'b', 'é']);
    expect(await db.iterator().all()).toEqual([
      ['a', '1'],
      [Buffer.from([0x61, 0xff]).toString('utf8'), '4'],
      ['b', '2'],
      ['é', '3'],
    ]);
    expect(await db.keys({ keyEncoding: 'buffer' }).all()).toEqual([
      Buffer.from('a'),
      Buffer.from([0x61, 0xff]),
      Buffer.from('b'),
      Buffer.from('é'),
    ]);
    expect(await db.keys({ snapshot: before }).all()).toEqual(['a', 'b']);
    await before.close();
    await db.close();
  });

  it('a key written straight into the store (one character per byte) is decoded by the adapter', async () => {
    const db = await opened();
    expect(await db.iterator().all()).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    // The store key for the Level key 'é' is its UTF-8 bytes, one character each.
    await db.store.put(Buffer.from('é', 'utf8').toString('latin1'), '3');
    expect(await db.keys().all()).toEqual(['a', 'b', 'é']);
    expect(await db.iterator({ gt: 'b' }).all()).toEqual([['é', '3']]);
    await db.close();
  });
});
