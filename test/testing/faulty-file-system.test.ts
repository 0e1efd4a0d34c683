import { describe, expect, it } from 'vitest';
import { FaultyFileSystem, MemoryFileSystem, Prng, type FaultOp } from '../../src/testing/index.js';
import { bytes, text } from '../helpers/bytes.js';
import { rejectionOf } from '../helpers/errors.js';

/** A faulty wrapper over a memory file system with an empty /db directory. */
async function setup(seed = 1): Promise<{ memory: MemoryFileSystem; faulty: FaultyFileSystem }> {
  const memory = new MemoryFileSystem();
  await memory.mkdir('/db');
  return { memory, faulty: new FaultyFileSystem({ inner: memory, seed }) };
}

function countBitsSet(value: number): number {
  let count = 0;
  for (let v = value; v !== 0; v >>= 1) count += v & 1;
  return count;
}

describe('Prng', () => {
  it('replays the same sequence from the same seed', () => {
    const a = new Prng(42);
    const b = new Prng(a.seed);
    const draws = (prng: Prng) => Array.from({ length: 20 }, () => prng.next());
    expect(draws(a)).toEqual(draws(b));
  });

  it('gives different sequences for neighbouring seeds', () => {
    expect(new Prng(1).next()).not.toBe(new Prng(2).next());
  });

  it('keeps next() in [0, 1) and int() in [0, max)', () => {
    const prng = new Prng(7);
    for (let i = 0; i < 1000; i++) {
      const x = prng.next();
      expect(x >= 0 && x < 1).toBe(true);
      const n = prng.int(5);
      expect(Number.isInteger(n) && n >= 0 && n < 5).toBe(true);
    }
  });

  it('pick() returns elements of the array, chance() honours 0 and 1', () => {
    const prng = new Prng(3);
    expect(['a', 'b']).toContain(prng.pick(['a', 'b']));
    expect(prng.chance(0)).toBe(false);
    expect(prng.chance(1)).toBe(true);
    expect(() => prng.pick([])).toThrow(RangeError);
  });
});

describe('FaultyFileSystem: failNth', () => {
  it('fails exactly the nth append, writing nothing, and lets the others through', async () => {
    const { memory, faulty } = await setup();
    const handle = await faulty.openAppend('/db/log', 'new');
    faulty.failNth('append', 2, 'EIO');

    await handle.append(bytes('one;'));
    const error = await rejectionOf(handle.append(bytes('two;')));
    await handle.append(bytes('three;'));

    expect(error.code).toBe('EIO');
    expect(text(memory.fileBytes('/db/log'))).toBe('one;three;');
  });

  it('a failed rename renamed nothing', async () => {
    const { memory, faulty } = await setup();
    memory.writeFileDurable('/db/tmp', bytes('x'));
    faulty.failNth('rename', 1, 'EIO');
    expect((await rejectionOf(faulty.rename('/db/tmp', '/db/final'))).code).toBe('EIO');
    expect(await memory.readdir('/db')).toEqual(['tmp']);
  });

  it('a failed sync made nothing durable', async () => {
    const { memory, faulty } = await setup();
    memory.writeFileDurable('/db/log', bytes('a'));
    const handle = await faulty.openAppend('/db/log', 'never');
    await handle.append(bytes('b'));
    faulty.failNth('sync', 1, 'EIO');
    expect((await rejectionOf(handle.sync())).code).toBe('EIO');
    expect(text(memory.durableFileBytes('/db/log'))).toBe('a');
  });

  it('a failed syncDir made no directory change durable', async () => {
    const { memory, faulty } = await setup();
    await faulty.openAppend('/db/new', 'new');
    faulty.failNth('syncDir', 1, 'EIO');
    await rejectionOf(faulty.syncDir('/db'));
    expect(memory.listDurable('/db')).toEqual([]);
  });

  it('ENOSPC errors say "no space left on device" and name the path', async () => {
    const { faulty } = await setup();
    faulty.failNth('openAppend', 1, 'ENOSPC');
    const error = await rejectionOf(faulty.openAppend('/db/log', 'new'));
    expect(error.code).toBe('ENOSPC');
    expect(error.message).toBe("ENOSPC: no space left on device, open '/db/log'");
  });

  it('counts from when the rule is added, and fires only once', async () => {
    const { faulty } = await setup();
    await faulty.mkdir('/db/a');
    faulty.failNth('mkdir', 1);
    expect((await rejectionOf(faulty.mkdir('/db/b'))).code).toBe('EIO');
    await faulty.mkdir('/db/c');
    expect(faulty.stats().failures.mkdir).toBe(1);
  });

  it('with pathIncludes, counts and fails only matching calls', async () => {
    const { memory, faulty } = await setup();
    faulty.failNth('openAppend', 1, 'EIO', { pathIncludes: '.wal' });
    await faulty.openAppend('/db/snapshot', 'new');
    expect((await rejectionOf(faulty.openAppend('/db/000001.wal', 'new'))).code).toBe('EIO');
    expect(await memory.readdir('/db')).toEqual(['snapshot']);
  });

  it('counts the nth call even when another rule failed an earlier one', async () => {
    const { faulty } = await setup();
    faulty.failNth('readdir', 1, 'ENOSPC').failNth('readdir', 2, 'EIO');
    expect((await rejectionOf(faulty.readdir('/db'))).code).toBe('ENOSPC');
    expect((await rejectionOf(faulty.readdir('/db'))).code).toBe('EIO');
    await expect(faulty.readdir('/db')).resolves.toEqual([]);
  });

  it('clearFaults() removes pending rules', async () => {
    const { faulty } = await setup();
    faulty.failNth('readdir', 1).clearFaults();
    await expect(faulty.readdir('/db')).resolves.toEqual([]);
  });

  it('can fail every operation it names', async () => {
    const { memory, faulty } = await setup();
    memory.writeFileDurable('/db/f', bytes('data'));
    const appendHandle = await faulty.openAppend('/db/f', 'never');
    const readHandle = await faulty.openRead('/db/f');
    const calls: Record<FaultOp, () => Promise<unknown>> = {
      append: () => appendHandle.append(bytes('x')),
      extend: () => appendHandle.extendWithZeros!(100),
      sync: () => appendHandle.sync(),
      syncDir: () => faulty.syncDir('/db'),
      rename: () => faulty.rename('/db/f', '/db/g'),
      openAppend: () => faulty.openAppend('/db/f', 'never'),
      openRead: () => faulty.openRead('/db/f'),
      readFile: () => faulty.readFile('/db/f'),
      read: () => readHandle.read(0, 1),
      unlink: () => faulty.unlink('/db/f'),
      truncate: () => faulty.truncate('/db/f', 0),
      mkdir: () => faulty.mkdir('/db/sub'),
      readdir: () => faulty.readdir('/db'),
      lock: () => faulty.lock('/db/LOCK'),
      size: () => faulty.size('/db/f'),
    };
    for (const [op, call] of Object.entries(calls) as [FaultOp, () => Promise<unknown>][]) {
      faulty.failNth(op, 1, 'EIO');
      expect((await rejectionOf(call())).code, op).toBe('EIO');
    }
    expect(await memory.readdir('/db')).toEqual(['f']);
    expect(text(memory.fileBytes('/db/f'))).toBe('data');
  });
});

describe('FaultyFileSystem: failWithProbability', () => {
  it('with p = 1 fails every call and with p = 0 none', async () => {
    const { faulty } = await setup();
    faulty.failWithProbability('size', 1, 'EIO', { pathIncludes: 'a' }).failWithProbability('readdir', 0);
    expect((await rejectionOf(faulty.size('/db/a'))).code).toBe('EIO');
    expect((await rejectionOf(faulty.size('/db/a'))).code).toBe('EIO');
    await expect(faulty.readdir('/db')).resolves.toEqual([]);
  });

  it('fails roughly the requested fraction of calls', async () => {
    const { faulty } = await setup(99);
    faulty.failWithProbability('readdir', 0.3);
    for (let i = 0; i < 1000; i++) await faulty.readdir('/db').catch(() => undefined);
    const { failures, calls } = faulty.stats();
    expect(calls.readdir).toBe(1000);
    expect(failures.readdir).toBeGreaterThan(230);
    expect(failures.readdir).toBeLessThan(370);
  });
});

describe('FaultyFileSystem: torn appends', () => {
  it('a torn append leaves a strict prefix of the buffer and rejects with EIO', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { memory, faulty } = await setup(seed);
      const handle = await faulty.openAppend('/db/log', 'new');
      await handle.append(bytes('head;'));
      faulty.tornAppendNth(1);
      const record = 'a-record-of-some-length';

      expect((await rejectionOf(handle.append(bytes(record)))).code).toBe('EIO');

      const written = text(memory.fileBytes('/db/log'))!.slice('head;'.length);
      expect(written.length).toBeLessThan(record.length);
      expect(record.startsWith(written)).toBe(true);
    }
  });

  it('tornAppendProbability(1) tears every matching append and counts them', async () => {
    const { faulty } = await setup();
    faulty.tornAppendProbability(1, { pathIncludes: '.wal' });
    const wal = await faulty.openAppend('/db/1.wal', 'new');
    const other = await faulty.openAppend('/db/other', 'new');
    await rejectionOf(wal.append(bytes('abc')));
    await rejectionOf(wal.append(bytes('def')));
    await other.append(bytes('fine'));
    expect(faulty.stats().tornAppends).toBe(2);
  });

  it('a torn append is not durable: the prefix is lost by a crash without sync', async () => {
    const { memory, faulty } = await setup();
    memory.writeFileDurable('/db/log', bytes('durable'));
    const handle = await faulty.openAppend('/db/log', 'never');
    faulty.tornAppendNth(1);
    await rejectionOf(handle.append(bytes('0123456789')));
    faulty.crash();
    expect(text(await memory.readFile('/db/log'))).toBe('durable');
  });
});

describe('FaultyFileSystem: bit flips on read', () => {
  it('readFile returns a copy with exactly one bit flipped, leaving the file intact', async () => {
    const { memory, faulty } = await setup();
    const original = bytes('some stored bytes');
    memory.writeFileDurable('/db/f', original);
    faulty.flipBitsOnReadProbability(1);

    const read = await faulty.readFile('/db/f');

    const differing = original.reduce((sum, byte, i) => sum + countBitsSet(byte ^ read[i]), 0);
    expect(read.byteLength).toBe(original.byteLength);
    expect(differing).toBe(1);
    expect(memory.fileBytes('/db/f')).toEqual(original);
    expect(faulty.stats().bitFlips).toBe(1);
  });

  it('ReadHandle.read flips exactly one bit too', async () => {
    const { memory, faulty } = await setup();
    const original = bytes('0123456789');
    memory.writeFileDurable('/db/f', original);
    faulty.flipBitsOnReadProbability(1, { pathIncludes: '/db/f' });
    const handle = await faulty.openRead('/db/f');
    const read = await handle.read(2, 5);
    const differing = read.reduce((sum, byte, i) => sum + countBitsSet(byte ^ original[i + 2]), 0);
    expect(differing).toBe(1);
  });
});

describe('FaultyFileSystem: replay', () => {
  /** Runs a fixed workload under a probabilistic plan and records what happened to each call. */
  async function run(seed: number): Promise<{ outcomes: string[]; file: string | undefined }> {
    const { memory, faulty } = await setup(seed);
    faulty.failWithProbability('append', 0.2, 'ENOSPC').failWithProbability('sync', 0.2).tornAppendProbability(0.2);
    const handle = await faulty.openAppend('/db/log', 'new');
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const result = await (i % 3 === 2 ? handle.sync() : handle.append(bytes(`record-${i};`))).then(
        () => 'ok',
        (error: { code?: string }) => error.code ?? 'error',
      );
      outcomes.push(result);
    }
    return { outcomes, file: text(memory.fileBytes('/db/log')) };
  }

  it('the same seed gives the same fault sequence and the same bytes', async () => {
    const first = await run(1234);
    const second = await run(1234);
    expect(second).toEqual(first);
    expect(new Set(first.outcomes).size).toBeGreaterThan(1);
  });

  it('a different seed gives a different fault sequence', async () => {
    expect((await run(1)).outcomes).not.toEqual((await run(2)).outcomes);
  });

  it('exposes its seed', () => {
    expect(new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 77 }).seed).toBe(77);
  });
});

describe('FaultyFileSystem: crash', () => {
  it('crashes the inner file system and invalidates handles opened through the wrapper', async () => {
    const { memory, faulty } = await setup();
    memory.writeFileDurable('/db/log', bytes('a'));
    const appender = await faulty.openAppend('/db/log', 'never');
    const reader = await faulty.openRead('/db/log');
    await appender.append(bytes('b'));

    faulty.crash();

    expect(text(await memory.readFile('/db/log'))).toBe('a');
    expect((await rejectionOf(appender.append(bytes('c')))).code).toBe('EBADF');
    expect((await rejectionOf(appender.sync())).code).toBe('EBADF');
    expect((await rejectionOf(reader.read(0, 1))).code).toBe('EBADF');
    expect((await rejectionOf(reader.close())).code).toBe('EBADF');
  });

  it('drops locks held through the wrapper (MemoryFileSystem inner)', async () => {
    const { faulty } = await setup();
    await faulty.lock('/db/LOCK');
    faulty.crash();
    await expect(faulty.lock('/db/LOCK')).resolves.toBeDefined();
  });
});

describe('FaultyFileSystem: stats', () => {
  it('counts calls per operation and injected faults per kind', async () => {
    const { faulty } = await setup();
    faulty.failNth('readdir', 2);
    await faulty.readdir('/db');
    await rejectionOf(faulty.readdir('/db'));
    await faulty.mkdir('/db/x');
    const stats = faulty.stats();
    expect(stats.calls.readdir).toBe(2);
    expect(stats.calls.mkdir).toBe(1);
    expect(stats.failures.readdir).toBe(1);
    expect(stats.failures.mkdir).toBe(0);
    expect(stats.tornAppends).toBe(0);
    expect(stats.bitFlips).toBe(0);
  });

  it('rejects nonsensical rules', () => {
    const faulty = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    expect(() => faulty.failNth('append', 0)).toThrow(RangeError);
    expect(() => faulty.failWithProbability('append', 1.5)).toThrow(RangeError);
  });
});
