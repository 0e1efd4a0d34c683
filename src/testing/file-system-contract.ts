import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsErrorCode, type FileSystem } from '../../src/fs/file-system.js';

/** A file system to test, rooted at an existing empty directory. */
export interface FileSystemFixture {
  fs: FileSystem;
  root: string;
  cleanup(): Promise<void> | void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
// Compare as text: the real file system hands out Buffers, the in-memory one plain Uint8Arrays.
const text = (data: Uint8Array): string => decoder.decode(data);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return fsErrorCode(error) ?? 'no code';
  }
  return undefined;
}

/**
 * Behaviour every `FileSystem` must share. Run against both the real `NodeFileSystem` and the
 * `MemoryFileSystem`, it keeps the model from drifting away from what the disk actually does.
 */
export function describeFileSystemContract(name: string, makeFixture: () => Promise<FileSystemFixture> | FileSystemFixture): void {
  describe(`FileSystem contract: ${name}`, () => {
    let fixture: FileSystemFixture;
    let fs: FileSystem;
    const at = (relative: string): string => `${fixture.root}/${relative}`;

    async function writeFile(relative: string, content: string): Promise<void> {
      const handle = await fs.openAppend(at(relative), 'truncate');
      await handle.append(bytes(content));
      await handle.close();
    }

    beforeEach(async () => {
      fixture = await makeFixture();
      fs = fixture.fs;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('reads back appended bytes with readFile', async () => {
      const handle = await fs.openAppend(at('a'), 'new');
      await handle.append(bytes('hello '));
      await handle.append(bytes('world'));
      await handle.sync();
      await handle.close();
      expect(text(await fs.readFile(at('a')))).toBe('hello world');
    });

    it("openAppend 'new' fails with EEXIST on an existing file", async () => {
      await writeFile('a', 'x');
      expect(await codeOf(fs.openAppend(at('a'), 'new'))).toBe('EEXIST');
    });

    it("openAppend 'truncate' empties an existing file", async () => {
      await writeFile('a', 'old content');
      const handle = await fs.openAppend(at('a'), 'truncate');
      await handle.close();
      expect(await fs.size(at('a'))).toBe(0);
    });

    it("openAppend 'never' fails with ENOENT on a missing file", async () => {
      expect(await codeOf(fs.openAppend(at('missing'), 'never'))).toBe('ENOENT');
    });

    it("openAppend 'never' appends at the end of the existing data", async () => {
      await writeFile('a', 'abc');
      const handle = await fs.openAppend(at('a'), 'never');
      await handle.append(bytes('def'));
      await handle.close();
      expect(text(await fs.readFile(at('a')))).toBe('abcdef');
    });

    it('extendWithZeros grows the file with zeros without moving the append position, and never shrinks it', async () => {
      for (const create of ['new', 'never'] as const) {
        if (create === 'never') await writeFile('b', '');
        const file = create === 'new' ? 'a' : 'b';
        const handle = await fs.openAppend(at(file), create);
        await handle.append(bytes('ab'));
        await handle.extendWithZeros!(6);
        expect(await fs.size(at(file))).toBe(6);
        await handle.append(bytes('cd'));
        await handle.extendWithZeros!(3);
        await handle.append(bytes('ef'));
        await handle.extendWithZeros!(10);
        await handle.append(bytes('g'));
        await handle.sync();
        await handle.close();
        expect(text(await fs.readFile(at(file))), create).toBe('abcdefg\0\0\0');
      }
    });

    it('rename replaces an existing target and removes the source name', async () => {
      await writeFile('from', 'new');
      await writeFile('to', 'old');
      await fs.rename(at('from'), at('to'));
      expect(text(await fs.readFile(at('to')))).toBe('new');
      expect(await codeOf(fs.readFile(at('from')))).toBe('ENOENT');
    });

    it('rename of a missing file fails with ENOENT', async () => {
      expect(await codeOf(fs.rename(at('missing'), at('to')))).toBe('ENOENT');
    });

    it('unlink removes the file, and fails with ENOENT when it is missing', async () => {
      await writeFile('a', 'x');
      await fs.unlink(at('a'));
      expect(await codeOf(fs.readFile(at('a')))).toBe('ENOENT');
      expect(await codeOf(fs.unlink(at('a')))).toBe('ENOENT');
    });

    it('truncate cuts the file to the given length', async () => {
      await writeFile('a', 'abcdef');
      await fs.truncate(at('a'), 2);
      expect(text(await fs.readFile(at('a')))).toBe('ab');
      expect(await fs.size(at('a'))).toBe(2);
    });

    it('size reports the byte length, or ENOENT', async () => {
      await writeFile('a', 'héllo'); // 6 bytes in UTF-8
      expect(await fs.size(at('a'))).toBe(6);
      expect(await codeOf(fs.size(at('missing')))).toBe('ENOENT');
    });

    it('readdir lists entry names, and fails with ENOENT on a missing directory', async () => {
      await writeFile('b', '');
      await writeFile('a', '');
      await fs.mkdir(at('sub/deeper'));
      expect((await fs.readdir(fixture.root)).sort()).toEqual(['a', 'b', 'sub']);
      expect(await fs.readdir(at('sub'))).toEqual(['deeper']);
      expect(await codeOf(fs.readdir(at('missing')))).toBe('ENOENT');
    });

    it('mkdir is idempotent', async () => {
      await fs.mkdir(at('d'));
      await fs.mkdir(at('d'));
      expect(await fs.readdir(at('d'))).toEqual([]);
    });

    it('readFile and openRead of a missing file fail with ENOENT', async () => {
      expect(await codeOf(fs.readFile(at('missing')))).toBe('ENOENT');
      expect(await codeOf(fs.openRead(at('missing')))).toBe('ENOENT');
    });

    it('openRead reads at a position and returns fewer bytes at the end of the file', async () => {
      await writeFile('a', '0123456789');
      const handle = await fs.openRead(at('a'));
      expect(text(await handle.read(2, 3))).toBe('234');
      expect(text(await handle.read(7, 100))).toBe('789');
      expect((await handle.read(10, 5)).byteLength).toBe(0);
      expect((await handle.read(50, 5)).byteLength).toBe(0);
      await handle.close();
    });

    it('syncDir succeeds on an existing directory', async () => {
      await writeFile('a', 'x');
      await expect(fs.syncDir(fixture.root)).resolves.toBeUndefined();
    });

    it('lock creates the file if missing', async () => {
      const lock = await fs.lock(at('LOCK'));
      expect(await fs.readdir(fixture.root)).toContain('LOCK');
      await lock.release();
    });

    it('a second lock of the same path fails with ELOCKED', async () => {
      const lock = await fs.lock(at('LOCK'));
      expect(await codeOf(fs.lock(at('LOCK')))).toBe('ELOCKED');
      await lock.release();
    });

    it('a released lock can be taken again', async () => {
      const first = await fs.lock(at('LOCK'));
      await first.release();
      const second = await fs.lock(at('LOCK'));
      await second.release();
    });

    it('release is idempotent and does not release a later holder', async () => {
      const first = await fs.lock(at('LOCK'));
      await first.release();
      const second = await fs.lock(at('LOCK'));
      await first.release();
      expect(await codeOf(fs.lock(at('LOCK')))).toBe('ELOCKED');
      await second.release();
    });
  });
}
