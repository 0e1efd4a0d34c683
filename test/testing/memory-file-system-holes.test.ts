/**
 * MemoryFileSystem's model of overwrites that were not synced: each 512-byte sector survives a crash
 * or reverts to its durable contents, as the seed draws. This is what lets tests produce the holes a
 * power loss leaves in preallocated WAL space.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, memorySectorBytes } from '../../src/testing/index.js';

const file = '/d/f';
const sectors = 8;

/** A file of `sectors` durable zero sectors (preallocated), then `sectors` sectors of 0xaa written over them, unsynced. */
async function overwrittenFile(seed: number): Promise<MemoryFileSystem> {
  const memory = new MemoryFileSystem({ seed });
  await memory.mkdir('/d');
  const handle = await memory.openAppend(file, 'new');
  await handle.extendWithZeros!(sectors * memorySectorBytes);
  await handle.sync();
  await memory.syncDir('/d');
  await handle.append(Buffer.alloc(sectors * memorySectorBytes, 0xaa));
  return memory;
}

/** Which sectors hold the new bytes ('x') and which the old zeros ('.'); throws on a torn sector. */
function sectorMap(bytes: Uint8Array): string {
  let map = '';
  for (let sector = 0; sector < bytes.byteLength / memorySectorBytes; sector++) {
    const part = bytes.subarray(sector * memorySectorBytes, (sector + 1) * memorySectorBytes);
    if (part.every((byte) => byte === 0xaa)) map += 'x';
    else if (part.every((byte) => byte === 0)) map += '.';
    else throw new Error(`sector ${sector} is half old, half new`);
  }
  return map;
}

async function crashMap(seed: number): Promise<string> {
  const memory = await overwrittenFile(seed);
  memory.crash();
  return sectorMap(memory.fileBytes(file)!);
}

describe('MemoryFileSystem: unsynced overwrites of durable bytes survive a crash per sector', () => {
  it('can leave a hole with later sectors persisted after it', async () => {
    const maps = await Promise.all(Array.from({ length: 32 }, (_, seed) => crashMap(seed)));
    for (const map of maps) expect(map).toHaveLength(sectors);
    // Some crash kept a later sector but lost an earlier one: a hole followed by persisted data.
    expect(maps.some((map) => /\.x/.test(map))).toBe(true);
    expect(maps.some((map) => /x\./.test(map))).toBe(true);
    expect(new Set(maps).size).toBeGreaterThan(8);
  });

  it('replays the same survivors from the same seed, and different ones from another', async () => {
    expect(await crashMap(7)).toBe(await crashMap(7));
    const others = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => crashMap(seed)));
    expect(others.some((map) => map !== others[0])).toBe(true);
  });

  it('keeps every sector once synced, and shows the certain survivors (none of the overwrite) before', async () => {
    const memory = await overwrittenFile(3);
    expect(sectorMap(memory.durableFileBytes(file)!)).toBe('.'.repeat(sectors));
    expect(sectorMap(memory.fileBytes(file)!)).toBe('x'.repeat(sectors));
    const handle = await memory.openAppend(file, 'never');
    await handle.sync();
    memory.crash();
    expect(sectorMap(memory.fileBytes(file)!)).toBe('x'.repeat(sectors));
  });

  it('still loses every byte written past the durable size', async () => {
    const memory = new MemoryFileSystem({ seed: 1 });
    await memory.mkdir('/d');
    const handle = await memory.openAppend(file, 'new');
    await handle.append(Buffer.alloc(100, 1));
    await handle.sync();
    await memory.syncDir('/d');
    await handle.append(Buffer.alloc(4 * memorySectorBytes, 2));
    await handle.extendWithZeros!(10 * memorySectorBytes);
    memory.crash();
    expect(Buffer.from(memory.fileBytes(file)!)).toEqual(Buffer.alloc(100, 1));
  });

  it('reverts a sector only to its durable contents, whatever was written over it between syncs', async () => {
    const memory = new MemoryFileSystem({ seed: 5 });
    await memory.mkdir('/d');
    const handle = await memory.openAppend(file, 'new');
    await handle.append(Buffer.alloc(memorySectorBytes, 1));
    await handle.sync();
    await memory.syncDir('/d');
    const rewrite = await memory.openAppend(file, 'truncate'); // O_TRUNC, not durable until synced
    await rewrite.append(Buffer.alloc(memorySectorBytes, 2));
    memory.crash();
    expect(Buffer.from(memory.fileBytes(file)!)).toEqual(Buffer.alloc(memorySectorBytes, 1));
  });

  it('appends at the handle position, not after zeros it added', async () => {
    const memory = new MemoryFileSystem();
    await memory.mkdir('/d');
    const handle = await memory.openAppend(file, 'new');
    await handle.append(Buffer.from('ab'));
    await handle.extendWithZeros!(6);
    await handle.append(Buffer.from('cd'));
    await handle.extendWithZeros!(3); // never shrinks
    expect(Buffer.from(memory.fileBytes(file)!).toString('latin1')).toBe('abcd\0\0');
  });

  it('flips a corrupted byte in what survives too, also inside an overwritten sector', async () => {
    const memory = await overwrittenFile(9);
    memory.corrupt(file, 3, 0x0f);
    expect(memory.durableFileBytes(file)![3]).toBe(0x0f);
    expect(memory.fileBytes(file)![3]).toBe(0xaa ^ 0x0f);
  });
});
