import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsErrorCode } from '../../src/fs/file-system.js';
import { NodeFileSystem } from '../../src/fs/node-file-system.js';
import { fileSystemContract, MemoryFileSystem } from '../../src/testing/index.js';
import { bytes, text } from '../helpers/bytes.js';
import { rejectionOf } from '../helpers/errors.js';

/** A MemoryFileSystem with an empty, durable /db directory. */
async function freshFs(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/db');
  return fs;
}

/** Creates /db/<name> with `content`, data synced and directory entry synced. */
async function durableFile(fs: MemoryFileSystem, name: string, content: string): Promise<void> {
  const handle = await fs.openAppend(`/db/${name}`, 'new');
  await handle.append(bytes(content));
  await handle.sync();
  await handle.close();
  await fs.syncDir('/db');
}

const vitest = { describe, it, beforeEach, afterEach };

fileSystemContract(
  'MemoryFileSystem',
  async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/contract');
    return { fs, root: '/contract', cleanup: () => undefined };
  },
  vitest,
);

fileSystemContract(
  'NodeFileSystem',
  () => {
    const root = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'dkv-'));
    return { fs: new NodeFileSystem(), root, cleanup: () => nodeFs.rmSync(root, { recursive: true, force: true }) };
  },
  vitest,
);

describe('MemoryFileSystem: file data durability', () => {
  it('crash() keeps synced bytes and loses bytes appended after the last sync', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'synced;');
    const handle = await fs.openAppend('/db/log', 'never');
    await handle.append(bytes('unsynced'));
    expect(text(fs.fileBytes('/db/log'))).toBe('synced;unsynced');

    fs.crash();

    expect(text(await fs.readFile('/db/log'))).toBe('synced;');
  });

  it('a later sync makes the newly appended bytes survive', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'a');
    const handle = await fs.openAppend('/db/log', 'never');
    await handle.append(bytes('b'));
    await handle.sync();
    fs.crash();
    expect(text(await fs.readFile('/db/log'))).toBe('ab');
  });

  it("openAppend 'truncate' of a synced file is undone by a crash before the next sync", async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'durable');
    const handle = await fs.openAppend('/db/log', 'truncate');
    await handle.append(bytes('x'));
    fs.crash();
    expect(text(await fs.readFile('/db/log'))).toBe('durable');
  });

  it('truncate() is durable on its own', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'abcdef');
    await fs.truncate('/db/log', 3);
    fs.crash();
    expect(text(await fs.readFile('/db/log'))).toBe('abc');
  });

  it('truncate() beyond the end extends the file with zero bytes', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'ab');
    await fs.truncate('/db/log', 4);
    expect([...(fs.fileBytes('/db/log') ?? [])]).toEqual([97, 98, 0, 0]);
  });

  it('durableFileBytes() shows what a crash would leave', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'kept');
    const handle = await fs.openAppend('/db/log', 'never');
    await handle.append(bytes('-lost'));
    expect(text(fs.durableFileBytes('/db/log'))).toBe('kept');
    expect(text(fs.fileBytes('/db/log'))).toBe('kept-lost');
  });
});

describe('MemoryFileSystem: directory entry durability', () => {
  it('a created file whose directory was not synced disappears on crash, even with synced data', async () => {
    const fs = await freshFs();
    const handle = await fs.openAppend('/db/new', 'new');
    await handle.append(bytes('data'));
    await handle.sync();
    expect(fs.listDurable('/db')).toEqual([]);

    fs.crash();

    expect(await fs.readdir('/db')).toEqual([]);
    expect(fs.fileBytes('/db/new')).toBeUndefined();
  });

  it('a created file survives once its directory is synced', async () => {
    const fs = await freshFs();
    const handle = await fs.openAppend('/db/new', 'new');
    await fs.syncDir('/db');
    await handle.close();
    fs.crash();
    expect(await fs.readdir('/db')).toEqual(['new']);
  });

  it('a rename not followed by syncDir is undone by crash: the old name returns with its inode', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'tmp', 'snapshot');
    await fs.rename('/db/tmp', '/db/final');
    expect(await fs.readdir('/db')).toEqual(['final']);

    fs.crash();

    expect(await fs.readdir('/db')).toEqual(['tmp']);
    expect(text(await fs.readFile('/db/tmp'))).toBe('snapshot');
  });

  it('a rename over an existing file, undone by crash, brings back the replaced file too', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'tmp', 'new');
    await durableFile(fs, 'final', 'old');
    await fs.rename('/db/tmp', '/db/final');
    fs.crash();
    expect(text(await fs.readFile('/db/final'))).toBe('old');
    expect(text(await fs.readFile('/db/tmp'))).toBe('new');
  });

  it('a rename followed by syncDir survives the crash', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'tmp', 'snapshot');
    await fs.rename('/db/tmp', '/db/final');
    await fs.syncDir('/db');
    fs.crash();
    expect(await fs.readdir('/db')).toEqual(['final']);
    expect(text(await fs.readFile('/db/final'))).toBe('snapshot');
  });

  it('a renamed file keeps its inode: data appended through an old handle shows under the new name', async () => {
    const fs = await freshFs();
    const handle = await fs.openAppend('/db/tmp', 'new');
    await fs.rename('/db/tmp', '/db/final');
    await handle.append(bytes('x'));
    expect(text(await fs.readFile('/db/final'))).toBe('x');
  });

  it('an unlink not followed by syncDir is undone by crash', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'old.wal', 'records');
    await fs.unlink('/db/old.wal');
    expect(await fs.readdir('/db')).toEqual([]);

    fs.crash();

    expect(text(await fs.readFile('/db/old.wal'))).toBe('records');
  });

  it('an unlink followed by syncDir survives the crash', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'old.wal', 'records');
    await fs.unlink('/db/old.wal');
    await fs.syncDir('/db');
    fs.crash();
    expect(await fs.readdir('/db')).toEqual([]);
  });

  it('mkdir is durable without a syncDir', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/a/b/c');
    fs.crash();
    expect(await fs.readdir('/a/b')).toEqual(['c']);
  });
});

describe('MemoryFileSystem: handles across a crash', () => {
  it('every call on an append handle opened before the crash rejects with EBADF', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', '');
    const handle = await fs.openAppend('/db/log', 'never');
    fs.crash();
    expect((await rejectionOf(handle.append(bytes('x')))).code).toBe('EBADF');
    expect((await rejectionOf(handle.sync())).code).toBe('EBADF');
    expect((await rejectionOf(handle.close())).code).toBe('EBADF');
    expect(text(await fs.readFile('/db/log'))).toBe('');
  });

  it('a read handle opened before the crash rejects with EBADF', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'snap', 'abc');
    const handle = await fs.openRead('/db/snap');
    fs.crash();
    expect((await rejectionOf(handle.read(0, 1))).code).toBe('EBADF');
  });

  it('handles opened after the crash work', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'log', 'a');
    fs.crash();
    const handle = await fs.openAppend('/db/log', 'never');
    await handle.append(bytes('b'));
    expect(text(await fs.readFile('/db/log'))).toBe('ab');
  });

  it('a closed handle rejects with EBADF, and closing twice is harmless', async () => {
    const fs = await freshFs();
    const handle = await fs.openAppend('/db/log', 'new');
    await handle.close();
    await handle.close();
    expect((await rejectionOf(handle.append(bytes('x')))).code).toBe('EBADF');
  });
});

describe('MemoryFileSystem: locks', () => {
  it('a second lock conflicts with ELOCKED until release()', async () => {
    const fs = await freshFs();
    const lock = await fs.lock('/db/LOCK');
    expect((await rejectionOf(fs.lock('/db/LOCK'))).code).toBe('ELOCKED');
    await lock.release();
    await expect(fs.lock('/db/LOCK')).resolves.toBeDefined();
  });

  it('crash() drops every lock, and a stale release() does not free the new holder', async () => {
    const fs = await freshFs();
    const stale = await fs.lock('/db/LOCK');
    await fs.syncDir('/db');
    fs.crash();
    await fs.lock('/db/LOCK');
    await stale.release();
    expect((await rejectionOf(fs.lock('/db/LOCK'))).code).toBe('ELOCKED');
  });

  it('the lock follows the inode, not the name', async () => {
    const fs = await freshFs();
    await fs.lock('/db/LOCK');
    await fs.rename('/db/LOCK', '/db/LOCK2');
    expect((await rejectionOf(fs.lock('/db/LOCK2'))).code).toBe('ELOCKED');
    await expect(fs.lock('/db/LOCK')).resolves.toBeDefined();
  });

  it('a lock file created without syncDir disappears on crash', async () => {
    const fs = await freshFs();
    await fs.lock('/db/LOCK');
    fs.crash();
    expect(await fs.readdir('/db')).toEqual([]);
  });
});

describe('MemoryFileSystem: errors', () => {
  it('are Node-style, with code and message naming the syscall and path', async () => {
    const fs = await freshFs();
    const error = await rejectionOf(fs.openAppend('/db/missing', 'never'));
    expect(error).toBeInstanceOf(Error);
    expect(fsErrorCode(error)).toBe('ENOENT');
    expect(error.message).toBe("ENOENT: no such file or directory, open '/db/missing'");
  });

  it('ENOENT for files in a missing directory, and for readdir of one', async () => {
    const fs = new MemoryFileSystem();
    expect((await rejectionOf(fs.openAppend('/nope/a', 'truncate'))).code).toBe('ENOENT');
    expect((await rejectionOf(fs.lock('/nope/LOCK'))).code).toBe('ENOENT');
    expect((await rejectionOf(fs.readdir('/nope'))).code).toBe('ENOENT');
    expect((await rejectionOf(fs.syncDir('/nope'))).code).toBe('ENOENT');
  });

  it('EISDIR for file operations on a directory, ENOTDIR for directory operations on a file', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'file', '');
    expect((await rejectionOf(fs.readFile('/db'))).code).toBe('EISDIR');
    expect((await rejectionOf(fs.openAppend('/db', 'truncate'))).code).toBe('EISDIR');
    expect((await rejectionOf(fs.unlink('/db'))).code).toBe('EISDIR');
    expect((await rejectionOf(fs.readdir('/db/file'))).code).toBe('ENOTDIR');
    expect((await rejectionOf(fs.openAppend('/db/file/x', 'truncate'))).code).toBe('ENOTDIR');
    expect((await rejectionOf(fs.mkdir('/db/file'))).code).toBe('EEXIST');
  });

  it('rename errors name both paths', async () => {
    const fs = await freshFs();
    const error = await rejectionOf(fs.rename('/db/a', '/db/b'));
    expect(error.message).toBe("ENOENT: no such file or directory, rename '/db/a' -> '/db/b'");
  });
});

describe('MemoryFileSystem: paths', () => {
  it('normalises paths, so equivalent spellings name the same file', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'a', 'x');
    expect(text(await fs.readFile('/db/./sub/../a'))).toBe('x');
    expect(text(await fs.readFile('db//a'))).toBe('x');
  });
});

describe('MemoryFileSystem: buffers are not aliased', () => {
  it('mutating the appended buffer afterwards does not change the file', async () => {
    const fs = await freshFs();
    const handle = await fs.openAppend('/db/a', 'new');
    const buffer = bytes('abc');
    await handle.append(buffer);
    buffer[0] = 0x7a;
    expect(text(await fs.readFile('/db/a'))).toBe('abc');
  });

  it('mutating a returned buffer does not change the file', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'a', 'abc');
    (await fs.readFile('/db/a'))[0] = 0x7a;
    const reader = await fs.openRead('/db/a');
    (await reader.read(0, 3))[1] = 0x7a;
    fs.fileBytes('/db/a')![2] = 0x7a;
    expect(text(await fs.readFile('/db/a'))).toBe('abc');
  });
});

describe('MemoryFileSystem: test fixtures', () => {
  it('writeFileDurable() creates parents and a file that survives a crash', async () => {
    const fs = new MemoryFileSystem();
    fs.writeFileDurable('/db/sub/snap', bytes('fixture'));
    expect(fs.listDurable('/db/sub')).toEqual(['snap']);
    fs.crash();
    expect(text(await fs.readFile('/db/sub/snap'))).toBe('fixture');
  });

  it('corrupt() flips bits in the current and the durable data', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'a', 'abc');
    fs.corrupt('/db/a', 1, 0x01);
    expect(text(fs.fileBytes('/db/a'))).toBe('acc');
    fs.crash();
    expect(text(await fs.readFile('/db/a'))).toBe('acc');
  });

  it('corrupt() reaches a durable copy kept aside by an unsynced truncation', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'a', 'abc');
    await (await fs.openAppend('/db/a', 'truncate')).close();
    fs.corrupt('/db/a', 0, 0x03);
    fs.crash();
    expect(text(await fs.readFile('/db/a'))).toBe('bbc');
  });

  it('listDurable() lists only what a crash would keep', async () => {
    const fs = await freshFs();
    await durableFile(fs, 'kept', '');
    await fs.openAppend('/db/volatile', 'new');
    expect(fs.listDurable('/db')).toEqual(['kept']);
    expect(await fs.readdir('/db')).toEqual(['kept', 'volatile']);
  });
});
