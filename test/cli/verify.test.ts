import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { firstSegment, recordSpans, runCli, seedStore } from './run-cli.js';
import { seedTtlStore, ttlClockStartMs } from './ttl-store.js';

async function flipByte(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[offset] ^= 0xff;
  await writeFile(file, bytes);
}

describe('verify', () => {
  it('passes a clean store with snapshots and segments: exit 0, every file OK', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.put('a', '1');
    await store.snapshot();
    await store.put('b', '2');
    await store.close();

    const verify = await runCli(['--json', 'verify', dir]);
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout);
    expect(report.ok).toBe(true);
    // Two snapshot generations (the default): the WAL before the snapshot stays for the older one, the empty store.
    expect(report.files.map((file: { kind: string; status: string }) => `${file.kind}:${file.status}`)).toEqual([
      'snapshot:ok',
      'wal:ok',
      'wal:ok',
    ]);
  });

  it('fails on a flipped byte in a middle record, naming the file and the offset', async () => {
    const dir = await tempDir();
    await seedStore(dir, 5);
    const segment = path.join(dir, firstSegment);
    const middle = (await recordSpans(segment))[2];
    await flipByte(segment, middle.offset + 20);

    const verify = await runCli(['verify', dir]);
    expect(verify.code).toBe(4);
    expect(verify.stdout).toMatch(new RegExp(`^CORRUPT +${firstSegment} +at byte ${middle.offset}: checksum mismatch`, 'm'));
  });

  it('reports a torn tail with its file, offset and size, and still exits 0', async () => {
    const dir = await tempDir();
    await seedStore(dir, 3);
    const segment = path.join(dir, firstSegment);
    const last = (await recordSpans(segment)).at(-1)!;
    await truncate(segment, last.offset + last.bytes - 5);

    const verify = await runCli(['--json', 'verify', dir]);
    expect(verify.code).toBe(0);
    const [file] = JSON.parse(verify.stdout).files;
    expect(file).toMatchObject({ file: firstSegment, status: 'torn-tail', offset: last.offset, droppedBytes: last.bytes - 5 });
  });

  it('checks a store another process holds open, without its lock, and changes nothing', async () => {
    const dir = await tempDir();
    await seedStore(dir, 2);
    const before = await readFile(path.join(dir, firstSegment));
    closeAfterTest(await DurableKVStore.open(dir));

    const verify = await runCli(['verify', dir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('all clean');
    expect((await readFile(path.join(dir, firstSegment))).equals(before)).toBe(true);
  });

  it('passes a store whose WAL and snapshot hold expiries, expires, increments and deletes by active expiry', async () => {
    const dir = await tempDir();
    await seedTtlStore(dir);
    const wal = await runCli(['--json', 'verify', dir]);
    expect(wal.code).toBe(0);
    expect(JSON.parse(wal.stdout)).toMatchObject({
      ok: true,
      corrupt: 0,
      tornTail: false,
      files: [{ file: firstSegment, kind: 'wal', status: 'ok', records: 8, firstSeq: 1, lastSeq: 8 }],
    });

    // The same clock as the seeding, so `counter` (expiring at start + 5 s) is still there to snapshot.
    const store = await DurableKVStore.open(dir, { clock: () => ttlClockStartMs + 2_000 });
    await store.snapshot();
    await store.put('after', 'snapshot', { ttlMs: 1_000 });
    await store.close();

    const verify = await runCli(['verify', dir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^OK +snap-0+8\.snap +2 entries at seq 8,/m);
    expect(verify.stdout).toContain('all clean');
    expect(verify.stdout).not.toMatch(/^(CORRUPT|TORN)/m);
  });
});
