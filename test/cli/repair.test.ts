import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { directoryContents, firstSegment, recordSpans, runCli, seedStore } from './run-cli.js';

/** A store of 5 records whose third record has a flipped byte; returns where that record starts. */
async function corruptStore(dir: string): Promise<number> {
  await seedStore(dir, 5);
  const segment = path.join(dir, firstSegment);
  const { offset } = (await recordSpans(segment))[2];
  const bytes = await readFile(segment);
  bytes[offset + 20] ^= 0xff;
  await writeFile(segment, bytes);
  return offset;
}

describe('repair', () => {
  it('without --yes says what it would cut, exits non-zero and changes nothing', async () => {
    const dir = await tempDir();
    const offset = await corruptStore(dir);
    const before = await directoryContents(dir);

    const dryRun = await runCli(['repair', dir]);
    expect(dryRun.code).toBe(4);
    expect(dryRun.stdout).toContain(`repair would cut ${firstSegment} from byte ${offset}`);
    expect(dryRun.stdout).toContain('--yes');
    expect(await directoryContents(dir)).toEqual(before);
    await expect(DurableKVStore.open(dir)).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT' });
  });

  it('with --yes cuts the log at the damage; the store then opens with the records before it', async () => {
    const dir = await tempDir();
    const offset = await corruptStore(dir);

    const repair = await runCli(['--json', 'repair', dir, '--yes']);
    expect(repair.code).toBe(0);
    expect(JSON.parse(repair.stdout)).toMatchObject({ dryRun: false, repaired: { file: firstSegment, offset }, lastSeq: 2 });
    expect((await stat(path.join(dir, firstSegment))).size).toBe(offset);

    const store = closeAfterTest(await DurableKVStore.open(dir));
    expect([...store.keys()].sort()).toEqual(['k0', 'k1']);
  });
});

describe('repair of a damaged snapshot', () => {
  /** A store with a snapshot of 20 keys and one write after it, then one byte of the snapshot flipped. */
  async function damagedSnapshot(dir: string): Promise<string> {
    const store = await DurableKVStore.open(dir);
    for (let i = 0; i < 20; i++) await store.put(`k${i}`, `v${i}`);
    const { seq } = await store.snapshot();
    await store.put('after', 'the snapshot');
    await store.close();
    const name = `snap-${String(seq).padStart(20, '0')}.snap`;
    const bytes = await readFile(path.join(dir, name));
    bytes[60] ^= 0x02;
    await writeFile(path.join(dir, name), bytes);
    return name;
  }

  it('says it restores every write from the older generation, then does: the store opens with every key', async () => {
    const dir = await tempDir();
    const snapshot = await damagedSnapshot(dir);
    const verify = await runCli(['verify', dir]);
    expect(verify.code).toBe(4);
    expect(verify.stdout).toContain('to see what a repair would do');

    const dryRun = await runCli(['repair', dir]);
    expect(dryRun.code).toBe(4);
    expect(dryRun.stdout).toContain(`repair would delete the damaged snapshot(s) ${snapshot} and restore every write from the empty store`);
    await expect(DurableKVStore.open(dir)).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT', file: snapshot });

    const repair = await runCli(['--json', 'repair', dir, '--yes']);
    expect(repair.code).toBe(0);
    expect(JSON.parse(repair.stdout)).toMatchObject({ repaired: { snapshotsDeleted: [snapshot], restoredFrom: 'the empty store' } });
    const store = closeAfterTest(await DurableKVStore.open(dir));
    expect(store.size).toBe(21);
    expect(store.get('k19')).toBe('v19');
    expect(store.get('after')).toBe('the snapshot');
  });
});

describe('repair of the only snapshot (one generation): salvage', () => {
  it('verify and the dry run name what a salvage loses; --yes keeps every intact block and the damaged file', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { snapshotGenerations: 1, snapshotBlockBytes: 512 });
    for (let i = 0; i < 40; i++) await store.put(`k${String(i).padStart(2, '0')}`, `value ${i}`.repeat(3));
    const { seq } = await store.snapshot();
    await store.put('after', 'the snapshot');
    await store.close();
    const name = `snap-${String(seq).padStart(20, '0')}.snap`;
    const bytes = await readFile(path.join(dir, name));
    const secondBlockAt = 32 + 12 + bytes.readUInt32LE(32 + 4);
    bytes[secondBlockAt + 40] ^= 0x10;
    await writeFile(path.join(dir, name), bytes);

    const verify = await runCli(['verify', dir]);
    expect(verify.code).toBe(4);
    expect(verify.stdout).toMatch(
      /CORRUPT .* a salvage keeps \d+ entries: it loses \d+ entries of the damaged block\(s\) \(keys "k\d\d" to "k\d\d" in key order\)/,
    );
    const dryRun = await runCli(['--json', 'repair', dir]);
    expect(dryRun.code).toBe(4);
    const planned = JSON.parse(dryRun.stdout).salvage;
    expect(planned.lost.keys).toBeGreaterThan(0);
    expect(planned.entriesKept + planned.lost.keys).toBe(40);

    const repair = await runCli(['repair', dir, '--yes']);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain(
      `repaired: rewrote the damaged snapshot ${name} with the ${planned.entriesKept} entries of its intact blocks`,
    );
    expect(await readFile(path.join(dir, `${name}.damaged`))).toEqual(bytes);
    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(reopened.size).toBe(planned.entriesKept + 1);
    expect(reopened.get('after')).toBe('the snapshot');
    const missing = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`).filter((key) => !reopened.has(key));
    expect(missing).toHaveLength(planned.lost.keys);
    expect([missing[0], missing.at(-1)]).toEqual([planned.lost.firstKey, planned.lost.lastKey]);
  });
});
