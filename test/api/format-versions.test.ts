/**
 * A store written by the previous formats (WAL version 4, snapshot version 2: no versions, no
 * expiry) opens with this one: the fixture in test/fixtures/format-v4 was written by durable-kv at
 * commit 0244d7b. New records go into a segment of the current version; formats newer than this
 * code reads are refused with a message naming the version.
 */
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { crc32c } from '../../src/format/crc32c.js';
import { tempDir } from '../helpers/temp-dir.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/format-v4');

/** What the fixture's writer did (see the commit message of the fixture): 50 puts and a batch (seqs 1..51), a snapshot at 51, 10 puts, the counter at 62, a delete, a deleteRange at 64. */
async function copyOfFixture(): Promise<string> {
  const dir = await tempDir();
  await cp(fixture, dir, { recursive: true });
  return dir;
}

describe('a store written by WAL format 4 and snapshot format 2', () => {
  it('opens with every key, and versions from the records (the snapshot seq for its entries)', async () => {
    const dir = await copyOfFixture();
    const store = await DurableKVStore.open(dir);
    expect(store.recoveryReport.snapshot?.seq).toBe(51);
    const keys = [...store.keys()];
    expect(keys).toContain('emoji:😀');
    expect(keys).not.toContain('user:00');
    expect(keys).not.toContain('user:01');
    expect(keys.filter((key) => key.startsWith('user:5'))).toEqual([]);
    expect(store.get('user:49')).toBe('name-49');
    expect(store.getEntry('user:49')).toEqual({ value: 'name-49', version: 51, expiresAt: null });
    expect(store.getEntry('counter')).toEqual({ value: '41', version: 62, expiresAt: null });
    expect(store.stats().lastSeq).toBe(64);
    // The data model works on it, and its new records go into a new segment of the current version.
    expect(await store.increment('counter')).toBe(42);
    await store.put('session', 'x', { ttlMs: 60_000 });
    await store.close();
    const segments = (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
    expect(segments).toHaveLength(2);
    const versions = await Promise.all(segments.map(async (name) => (await readFile(path.join(dir, name))).readUInt32LE(8)));
    expect(versions).toEqual([4, 5]);
    const reopened = await DurableKVStore.open(dir);
    expect(reopened.get('counter')).toBe('42');
    expect(reopened.getEntry('session')?.expiresAt).not.toBeNull();
    await reopened.snapshot();
    await reopened.close();
  });
});

describe('formats newer than this code', () => {
  it('a WAL segment of version 6 is refused with ERR_STORE_CORRUPT naming the version', async () => {
    const dir = await copyOfFixture();
    const [segment] = (await readdir(dir)).filter((name) => name.endsWith('.wal'));
    const bytes = await readFile(path.join(dir, segment));
    bytes.writeUInt32LE(6, 8);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 12)), 12);
    await writeFile(path.join(dir, segment), bytes);
    const error = await rejectionOf(DurableKVStore.open(dir));
    expectCode(error, 'ERR_STORE_CORRUPT');
    expect(error.message).toMatch(/unsupported WAL format version 6/);
  });

  it('a snapshot of version 4 is refused naming the version', async () => {
    const dir = await copyOfFixture();
    const [snapshot] = (await readdir(dir)).filter((name) => name.endsWith('.snap'));
    const bytes = await readFile(path.join(dir, snapshot));
    bytes.writeUInt32LE(4, 8);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 24)), 24);
    await writeFile(path.join(dir, snapshot), bytes);
    const error = await rejectionOf(DurableKVStore.open(dir));
    expectCode(error, 'ERR_STORE_CORRUPT');
    expect(error.message).toMatch(/unsupported snapshot format version 4/);
  });
});
