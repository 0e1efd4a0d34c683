/**
 * Regression (found by an independent review of the data model; fixed): salvage of a snapshot whose header is damaged assumes format 3. A version 2 (or 1) file,
 * which every store upgraded from 0244d7b has until its next snapshot, then loses every entry,
 * where before this commit a damaged header lost none.
 */
import { cp, readFile, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeSnapshotFile } from '../../src/format/snapshot-format.js';
import { salvageSnapshot } from '../../src/format/snapshot-salvage.js';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const blocks = Array.from({ length: 3 }, (_, b) => Array.from({ length: 4 }, (_, i) => [`b${b}-k${i}`, `v${b}.${i}`] as const));
const seq = 77;

describe('salvage of a version 2 snapshot with a damaged header', () => {
  it('keeps every entry (damage in the header loses none)', () => {
    const { bytes } = encodeSnapshotFile(seq, blocks, 2);
    const intact = salvageSnapshot(bytes, seq);
    expect(intact.entriesKept).toBe(12);
    const damaged = Buffer.from(bytes);
    damaged[20] ^= 0x01; // a byte of the header's seq field: the header CRC fails
    const result = salvageSnapshot(damaged, seq);
    expect({ seq: result.seq, entriesKept: result.entriesKept, lost: result.lost.keys }).toEqual({ seq, entriesKept: 12, lost: 0 });
  });

  it('repair of the format-v4 fixture with one flipped header byte keeps the snapshot entries', async () => {
    const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/format-v4');
    const dir = await tempDir();
    await cp(fixture, dir, { recursive: true });
    const [snap] = (await readdir(dir)).filter((name) => name.endsWith('.snap'));
    const bytes = await readFile(path.join(dir, snap));
    const intactEntries = salvageSnapshot(bytes, 51).entriesKept;
    bytes[20] ^= 0x01;
    await writeFile(path.join(dir, snap), bytes);
    const report = await DurableKVStore.repair(dir);
    const store = await DurableKVStore.open(dir);
    const users = [...store.keys({ prefix: 'user:' })];
    await store.close();
    expect(intactEntries).toBeGreaterThan(0);
    expect({ salvaged: report.repaired?.salvaged?.entriesKept, userKeys: users.length > 0 }).toEqual({
      salvaged: intactEntries,
      userKeys: true,
    });
  });
});
